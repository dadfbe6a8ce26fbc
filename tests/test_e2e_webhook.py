"""Webhook mode as production runs it: the bot as a process of its own, Telegram (the
emulator) posting updates to its HTTP server, with health checks and metrics beside; and
that server as anyone on the internet may reach it: forged posts, wrong secrets, malformed
bodies, readiness and metrics asked from afar, and a flood of half-sent connections."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.http_server import IDLE_TIMEOUT
from bot.readiness import MAX_AGE
from bot.sandbox.balancer import free_port
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from tests.flows import answer_all, bot_process, ready, start_and_consent

SECRET = "webhook-secret_0123456789abcdefghij"  # at least 32 characters
METRICS_TOKEN = "metrics-token_0123456789abcdefghijk"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# As a reverse proxy on this machine forwards a request from the internet.
FROM_AFAR = {"X-Forwarded-For": "203.0.113.7"}
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class WebhookBot:
    """A bot process in webhook mode: its HTTP server's base URL and its log file."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.asynccontextmanager
async def start_webhook_bot(
    tmp_path: Path, emulator: BotApiEmulator, database_url: str, open_files: int | None = None
) -> AsyncIterator[WebhookBot]:
    """A bot process in webhook mode, with METRICS_TOKEN set and its log in a file."""
    port = free_port()
    log = tmp_path / "bot.log"
    process = await bot_process(
        tmp_path,
        log=log,
        open_files=open_files,
        BOT_TOKEN=emulator.token,
        BOT_API_URL=emulator.base_url,
        DATABASE_URL=database_url,
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        WEBHOOK_SECRET=SECRET,
        METRICS_TOKEN=METRICS_TOKEN,
        HTTP_LISTEN=f"127.0.0.1:{port}",
    )
    try:
        await ready(emulator)
        yield WebhookBot(f"http://127.0.0.1:{port}", log)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 0


@pytest.fixture
async def webhook_bot(
    tmp_path: Path, emulator: BotApiEmulator, database_url: str
) -> AsyncIterator[WebhookBot]:
    async with start_webhook_bot(tmp_path, emulator, database_url) as running:
        yield running


async def raw_request(url: str, request: bytes) -> tuple[int, bytes]:
    """Send `request` byte for byte (what aiohttp's client would refuse to send); the status
    and the whole answer (the request asks for Connection: close)."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(request)
        answer = await asyncio.wait_for(reader.read(), 5)
        return int(answer.split()[1]), answer
    finally:
        writer.close()


def webhook_post(body: bytes, secret: bytes = SECRET.encode()) -> bytes:
    return (
        b"POST /telegram HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\n"
        b"%s: %s\r\nContent-Length: %d\r\n\r\n%s"
        % (SECRET_HEADER.encode(), secret, len(body), body)
    )


async def metrics_of(http: aiohttp.ClientSession, bot: WebhookBot) -> str:
    async with http.get(f"{bot.url}/metrics") as response:
        assert response.status == 200
        return await response.text()


async def readiness(http: aiohttp.ClientSession, bot: WebhookBot) -> tuple[int, dict[str, Any]]:
    """/readyz as this machine sees it: the status and the details."""
    async with http.get(f"{bot.url}/readyz") as response:
        return response.status, await response.json()


async def until_not_ready(
    http: aiohttp.ClientSession, bot: WebhookBot, problem: str, seconds: float = MAX_AGE + 5
) -> dict[str, Any]:
    """The details, once /readyz reports `problem` in them (the last result is kept a few
    seconds, so a change shows a little later)."""
    deadline = time.monotonic() + seconds
    while True:
        status, body = await readiness(http, bot)
        if problem in str(body["problems"]):
            assert status == 503
            return body
        assert time.monotonic() < deadline, f"/readyz never said {problem!r}: {body}"
        await asyncio.sleep(0.2)


async def test_a_whole_screening_arrives_by_webhook(
    webhook_bot: WebhookBot, emulator: BotApiEmulator, alice: SimUser
) -> None:
    assert emulator.webhook is not None
    assert emulator.webhook["secret_token"] == SECRET
    await start_and_consent(alice)
    result = await answer_all(alice)
    assert "What we'd suggest" in result.shown_text or "Your result" in result.shown_text


@SQLITE_ONLY
async def test_posts_that_are_not_updates_from_telegram_are_refused(
    webhook_bot: WebhookBot, emulator: BotApiEmulator, alice: SimUser
) -> None:
    """Without the secret: 403, counted, and logged once (not once per guess). With it but
    malformed (a header that is not UTF-8, a body that is not a JSON object): 400, not 500."""
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
    guesses = [{}, {SECRET_HEADER: "guess"}, {SECRET_HEADER: SECRET[:-1]}]
    async with aiohttp.ClientSession() as http:
        for attempt in range(30):
            headers = guesses[attempt % len(guesses)]
            async with http.post(f"{webhook_bot.url}/telegram", json=forged, headers=headers) as r:
                assert r.status == 403
        assert 'bmx_webhook_refused_total{reason="secret"} 30.0' in await metrics_of(
            http, webhook_bot
        )
    await alice.expect_silence(1.0)
    assert alice.bot_messages() == []
    refused = [line for line in webhook_bot.log_text().splitlines() if "webhook posts" in line]
    assert len(refused) == 1, refused  # the first one at once, the next a minute later
    assert "wrong or missing secret token (403): 1 " in refused[0]

    not_utf8 = webhook_post(b'{"update_id": 1}', secret=SECRET.encode()[:-2] + b"\xff\xfe")
    assert (await raw_request(webhook_bot.url, not_utf8))[0] == 400
    for body in (b"[]", b'"update"', b"null", b"17", b"{}", b"{not json", b'{"\xff": 1}'):
        status, answer = await raw_request(webhook_bot.url, webhook_post(body))
        assert status == 400, (body, answer)
    async with aiohttp.ClientSession() as http:
        assert 'bmx_webhook_refused_total{reason="not_an_update"} 8.0' in await metrics_of(
            http, webhook_bot
        )
    log = webhook_bot.log_text()
    assert "Traceback" not in log and " ERROR " not in log, log
    assert SECRET not in log


async def test_health_readiness_and_metrics(
    webhook_bot: WebhookBot, emulator: BotApiEmulator, alice: SimUser
) -> None:
    """/readyz tells the internet "ready" or "not ready", and why only to this machine or
    with METRICS_TOKEN, as /metrics; asked 40 times it asks the Bot API once or twice, and
    outside the replies' governor; an error naming the URL is shown without the token."""
    await alice.send("/help")
    await alice.expect("What I can do")
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{webhook_bot.url}/healthz", headers=FROM_AFAR) as r:
            assert r.status == 200
        status, body = await readiness(http, webhook_bot)
        assert status == 200 and body["ready"] is True and body["problems"] == {}
        async with http.get(f"{webhook_bot.url}/readyz", headers=FROM_AFAR) as r:
            assert (r.status, await r.text()) == (200, "ready")
        for headers in (FROM_AFAR, {**FROM_AFAR, "Authorization": f"Bearer {SECRET}"}):
            async with http.get(f"{webhook_bot.url}/metrics", headers=headers) as r:
                assert (r.status, await r.text()) == (403, "forbidden")
        async with http.get(f"{webhook_bot.url}/metrics", headers={**FROM_AFAR, **bearer}) as r:
            assert r.status == 200
            metrics = await r.text()
        assert 'bmx_updates_total{kind="message"}' in metrics
        assert 'bmx_sends_total{lane="interactive",outcome="sent"}' in metrics
        assert "bmx_db_transaction_seconds_count" in metrics

        # Checked now and then: the last result serves everyone for a few seconds.
        before = emulator.calls.get("getMe", 0)
        await asyncio.gather(*(readiness(http, webhook_bot) for _ in range(30)))
        for _ in range(10):
            assert (await readiness(http, webhook_bot))[0] == 200
        assert emulator.calls["getMe"] - before <= 2

        # A 429 the check meets pauses nobody's replies (through the governor it paused all).
        emulator.faults.inject("limit", "getMe", retry_after=30)
        body = await until_not_ready(http, webhook_bot, "RetryAfter")
        assert body["problems"]["bot_api"].startswith("RetryAfter: ")
        assert "database" not in body["problems"]
        started = time.monotonic()
        await alice.send("/help")
        await alice.expect("What I can do", timeout=8.0)
        assert time.monotonic() - started < 8.0

        # A proxy in front of the Bot API that redirects in a loop: aiohttp's error names
        # the URL, /bot<token>/getMe.
        emulator.faults.inject("redirect", "getMe", count=1000)
        body = await until_not_ready(http, webhook_bot, "TooManyRedirects")
        problem = body["problems"]["bot_api"]
        assert "/bot<BOT_TOKEN>/getMe" in problem
        assert emulator.token not in problem and emulator.token.split(":")[1] not in problem
        async with http.get(f"{webhook_bot.url}/readyz", headers=FROM_AFAR) as r:
            assert (r.status, await r.text()) == (503, "not ready")
        async with http.get(f"{webhook_bot.url}/readyz", headers={**FROM_AFAR, **bearer}) as r:
            assert r.status == 503 and "TooManyRedirects" in (await r.json())["problems"]["bot_api"]

        # Telegram unreachable.
        await emulator.go_offline()
        try:
            body = await until_not_ready(http, webhook_bot, "Cannot connect")
            assert "database" not in body["problems"]
        finally:
            await emulator.come_back()
    assert emulator.token.split(":")[1] not in webhook_bot.log_text()


async def closed(reader: asyncio.StreamReader) -> bool:
    """Whether the server has closed this connection (an end of file, or a reset when it
    closed with our bytes still unread)."""
    try:
        return await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        return True


@SQLITE_ONLY
async def test_half_sent_connections_neither_freeze_the_server_nor_fill_the_log(
    tmp_path: Path, emulator: BotApiEmulator, database_url: str
) -> None:
    """Slowloris: more half-sent requests than the bot has file descriptors. /healthz still
    answers at once, the log stays small, and the server closes what never completes."""
    async with start_webhook_bot(tmp_path, emulator, database_url, open_files=512) as bot:
        address = urlsplit(bot.url)
        assert address.hostname is not None and address.port is not None

        Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]

        async def half_sent() -> Connection | None:
            try:
                connecting = asyncio.open_connection(address.hostname, address.port)
                reader, writer = await asyncio.wait_for(connecting, 3)
            except (OSError, TimeoutError):
                return None  # not accepted: the kernel's queue is full
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nX-Slow: ")
            return reader, writer

        started = time.monotonic()
        flood = [c for c in await asyncio.gather(*(half_sent() for _ in range(600))) if c]
        assert len(flood) > 500
        reader, keep_alive = await asyncio.open_connection(address.hostname, address.port)
        keep_alive.write(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n")
        assert (await asyncio.wait_for(reader.readuntil(b"ok"), 5)).startswith(b"HTTP/1.1 200")
        async with aiohttp.ClientSession() as http:
            for _ in range(5):
                asked = time.monotonic()
                async with http.get(f"{bot.url}/healthz", timeout=aiohttp.ClientTimeout(5)) as r:
                    assert r.status == 200
                assert time.monotonic() - asked < 3.0  # without the cap: no answer at all
        # ...long before the idle timeout could have made room.
        assert time.monotonic() - started < IDLE_TIMEOUT - 5
        # The idle keep-alive connection and the half-sent ones the server still holds are
        # closed once IDLE_TIMEOUT has passed since each began.
        assert await asyncio.wait_for(reader.read(), IDLE_TIMEOUT + 5) == b""
        assert time.monotonic() - started > IDLE_TIMEOUT - 1
        assert all(await asyncio.gather(*(closed(r) for r, _ in flood)))
        for _, writer in flood:
            writer.transport.abort()
        log = bot.log_text()
        assert len(log) < 10_000, log[-3000:]
        assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
        assert "at its limit of 128 open connections" in log
