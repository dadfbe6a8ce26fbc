"""Webhook mode as production runs it: the bot as a process of its own, Telegram (the
emulator) posting updates to its HTTP server, with health checks and metrics beside."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.sandbox.balancer import free_port
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from tests.flows import answer_all, bot_process, ready, start_and_consent

SECRET = "webhook-secret_0123"


@pytest.fixture
async def webhook_bot(
    tmp_path: Path, emulator: BotApiEmulator, database_url: str
) -> AsyncIterator[str]:
    """A bot process in webhook mode; yields the base URL of its HTTP server."""
    port = free_port()
    process = await bot_process(
        tmp_path,
        BOT_TOKEN=emulator.token,
        BOT_API_URL=emulator.base_url,
        DATABASE_URL=database_url,
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        WEBHOOK_SECRET=SECRET,
        HTTP_LISTEN=f"127.0.0.1:{port}",
    )
    try:
        await ready(emulator)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 0


async def test_a_whole_screening_arrives_by_webhook(
    webhook_bot: str, emulator: BotApiEmulator, alice: SimUser
) -> None:
    assert emulator.webhook is not None
    assert emulator.webhook["secret_token"] == SECRET
    await start_and_consent(alice)
    result = await answer_all(alice)
    assert "What we'd suggest" in result.shown_text or "Your result" in result.shown_text


async def test_a_post_without_the_secret_is_refused_and_changes_nothing(
    webhook_bot: str, emulator: BotApiEmulator, alice: SimUser
) -> None:
    forged = {
        "update_id": 10**9,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": alice.id, "type": "private"},
            "from": {"id": alice.id, "is_bot": False, "first_name": "Mallory"},
            "text": "/start",
        },
    }
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
            async with http.post(f"{webhook_bot}/telegram", json=forged, headers=headers) as r:
                assert r.status == 403
    await alice.expect_silence(1.0)
    assert alice.bot_messages() == []


async def test_health_readiness_and_metrics(
    webhook_bot: str, emulator: BotApiEmulator, alice: SimUser
) -> None:
    await alice.send("/help")
    await alice.expect("What I can do")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{webhook_bot}/healthz") as r:
            assert r.status == 200
        async with http.get(f"{webhook_bot}/readyz") as r:
            assert r.status == 200 and (await r.json())["ready"] is True
        async with http.get(f"{webhook_bot}/metrics") as r:
            metrics = await r.text()
        assert 'bmx_updates_total{kind="message"}' in metrics
        assert 'bmx_sends_total{lane="interactive",outcome="sent"}' in metrics
        assert "bmx_db_transaction_seconds_count" in metrics
        await emulator.go_offline()
        try:
            async with http.get(f"{webhook_bot}/readyz") as r:
                body = await r.json()
            assert r.status == 503 and "bot_api" in body["problems"]
            assert "database" not in body["problems"]
        finally:
            await emulator.come_back()
