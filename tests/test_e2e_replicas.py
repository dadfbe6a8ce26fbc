"""Several replicas on one PostgreSQL database behind a load balancer, in webhook mode: the
way production scales. Each replica is a bot process of its own; a small round-robin
balancer (as a reverse proxy would) passes Telegram's updates to whichever replica answers.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from bot.sandbox.balancer import Balancer, free_port
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from storage.db import Database
from storage.models import Delivery
from tests.conftest import STAFF_ID
from tests.flows import bot_process, ready, seed_clients
from tests.test_e2e_broadcast import compose, send_now, tips_of, wait_done
from tests.test_e2e_webhook import SECRET


@pytest.fixture
def database_url(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        pytest.skip("replicas need PostgreSQL")
    return database_url


async def leader_of(replicas: list[str]) -> int:
    """Which replica sends the reminders and tips (from each one's metrics)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            for index, url in enumerate(replicas):
                try:
                    async with http.get(f"{url}/metrics") as response:
                        if "bmx_bulk_sender 1.0" in await response.text():
                            return index
                except aiohttp.ClientConnectionError:
                    continue  # still starting
            await asyncio.sleep(0.2)
    raise AssertionError("no replica leads")


@pytest.fixture
async def replicas(
    tmp_path: Path, emulator: BotApiEmulator, database_url: str
) -> AsyncIterator[tuple[list[asyncio.subprocess.Process], list[str]]]:
    ports = [free_port() for _ in range(2)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    balancer = Balancer(urls)
    await balancer.start()
    processes = []
    for port in ports:
        processes.append(
            await bot_process(
                tmp_path,
                BOT_TOKEN=emulator.token,
                BOT_API_URL=emulator.base_url,
                DATABASE_URL=database_url,
                STAFF_IDS=str(STAFF_ID),
                WEBHOOK_URL=f"http://127.0.0.1:{balancer.port}/telegram",
                WEBHOOK_SECRET=SECRET,
                HTTP_LISTEN=f"127.0.0.1:{port}",
                LOG_LEVEL="WARNING",
            )
        )
    try:
        await ready(emulator, timeout=60)
        yield processes, urls
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            await asyncio.wait_for(process.wait(), 30)
        await balancer.stop()


async def test_a_replica_killed_mid_broadcast_the_other_carries_on(
    replicas: tuple[list[asyncio.subprocess.Process], list[str]],
    emulator: BotApiEmulator,
    staff: SimUser,
    database_url: str,
) -> None:
    """Two replicas, a tip to 300 clients while three others chat: the replica sending it is
    SIGKILLed half-way; the other takes over, nobody gets the tip twice, only what was in
    flight at the kill is unconfirmed, the chatting clients are answered throughout, and
    Telegram refused nothing (no 429)."""
    processes, urls = replicas
    users = seed_clients(database_url, emulator, 300)
    chatting = [SimUser(emulator, 6100 + i, f"Chat {i}") for i in range(3)]
    await compose(staff)
    await send_now(staff)
    leader = await leader_of(urls)
    while sum(len(tips_of(u)) for u in users) < 100:
        await emulator.changed(0.05)
    processes[leader].kill()
    await processes[leader].wait()
    for user in chatting:  # the surviving replica answers them
        await user.send("/help")
        await user.expect("What I can do", timeout=20)
    report = await wait_done(staff, 1, timeout=90)
    copies = [len(tips_of(u)) for u in users]
    assert max(copies) == 1, "nobody got the tip twice"
    database = Database(database_url)
    try:
        with database.session() as session:
            statuses = list(session.exec(select(Delivery.status)).all())
    finally:
        database.engine.dispose()
    unconfirmed = statuses.count("unconfirmed")
    assert unconfirmed <= 3, "only what was in flight at the kill"
    assert statuses.count("sent") + unconfirmed == 300
    assert sum(copies) >= statuses.count("sent")
    assert f"sent to {300 - unconfirmed} of 300" in report.shown_text
    # Telegram refused nothing (no 429): the emulator fixture checks it on the way out.
