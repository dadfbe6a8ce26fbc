"""Several replicas on one PostgreSQL database behind a load balancer, in webhook mode: the
way production scales. Each replica is a bot process of its own; a small round-robin
balancer (as a reverse proxy would) passes Telegram's updates to whichever replica answers.
Tested: a replica SIGKILLed mid-broadcast; a rolling restart (each replica stopped with
SIGTERM and started again, one after the other) while a tip goes out and clients chat; two or
three replicas carrying a tip to 1,000 clients and a day's worth of movement-break prompts
while one of them is SIGKILLed; Telegram away for a minute mid-tip. Nothing is lost, nothing
is sent twice, and Telegram refuses nothing (the emulator fixture fails the test on any refused
call, 429 included)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import insert, literal, select
from sqlmodel import select as select_model

from bot.sandbox.balancer import Balancer, free_port
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from storage.db import Database
from storage.models import Client, Delivery, ReminderPlan, utcnow
from tests.conftest import STAFF_ID
from tests.flows import bot_process, ready, seed_clients
from tests.test_e2e_broadcast import compose, send_now, tips_of, wait_done
from tests.test_e2e_reminders import prompt_numbers
from tests.test_e2e_webhook import SECRET

PROMPTS_A_DAY = 8  # an office day of hourly movement breaks
PROMPT_EVERY = 3  # seconds: the day, compressed


@pytest.fixture
def database_url(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        pytest.skip("replicas need PostgreSQL")
    return database_url


class Replicas:
    """Bot processes behind one round-robin balancer, each on a port of its own, each one
    stoppable, killable and startable again on the same port (a rolling restart)."""

    def __init__(self, cwd: Path, emulator: BotApiEmulator, database_url: str, count: int) -> None:
        self.cwd, self.emulator, self.database_url = cwd, emulator, database_url
        self.urls = [f"http://127.0.0.1:{free_port()}" for _ in range(count)]
        self.processes: list[asyncio.subprocess.Process | None] = [None] * count
        self.balancer = Balancer(self.urls)

    async def start(self) -> None:
        await self.balancer.start()
        for index in range(len(self.urls)):
            await self.start_one(index)
        await ready(self.emulator, timeout=60)

    async def start_one(self, index: int) -> None:
        self.processes[index] = await bot_process(
            self.cwd,
            BOT_TOKEN=self.emulator.token,
            BOT_API_URL=self.emulator.base_url,
            DATABASE_URL=self.database_url,
            STAFF_IDS=str(STAFF_ID),
            WEBHOOK_URL=f"http://127.0.0.1:{self.balancer.port}/telegram",
            WEBHOOK_SECRET=SECRET,
            HTTP_LISTEN=self.urls[index].removeprefix("http://"),
            LOG_LEVEL="WARNING",
        )

    async def healthy(self, index: int, timeout: float = 60) -> None:
        """Wait until the replica answers /readyz (database and Bot API reachable)."""
        async with aiohttp.ClientSession() as http:
            for _ in range(int(timeout / 0.2)):
                try:
                    async with http.get(f"{self.urls[index]}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass  # still starting
                await asyncio.sleep(0.2)
        raise AssertionError(f"replica {index} never became ready")

    async def terminate(self, index: int, grace: float = 30) -> int:
        """SIGTERM: the replica stops taking work, finishes what is in flight and exits."""
        process = self.processes[index]
        assert process is not None
        process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(process.wait(), grace)

    async def kill(self, index: int) -> None:
        process = self.processes[index]
        assert process is not None
        process.kill()
        await process.wait()

    async def leader(self) -> int:
        """Which replica sends the reminders and tips now (from each one's metrics)."""
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                for index, url in enumerate(self.urls):
                    try:
                        async with http.get(f"{url}/metrics") as response:
                            if "bmx_bulk_sender 1.0" in await response.text():
                                return index
                    except aiohttp.ClientConnectionError:
                        continue
                await asyncio.sleep(0.2)
        raise AssertionError("no replica leads")

    async def stop(self) -> None:
        for process in self.processes:
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            if process is not None:
                await asyncio.wait_for(process.wait(), 30)
        await self.balancer.stop()


@pytest.fixture
async def replicas(
    request: pytest.FixtureRequest, tmp_path: Path, emulator: BotApiEmulator, database_url: str
) -> AsyncIterator[Replicas]:
    group = Replicas(tmp_path, emulator, database_url, getattr(request, "param", 2))
    try:
        await group.start()
        yield group
    finally:
        await group.stop()


class Chatter:
    """A client who keeps asking the bot something while the test goes on, at a human pace,
    and counts the answers: an update lost in a restart is a question never answered."""

    def __init__(self, user: SimUser) -> None:
        self.user, self.asked, self.answered = user, 0, 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.user.send("/help")
            self.asked += 1
            await self.user.expect("What I can do", timeout=60)
            self.answered += 1
            await asyncio.sleep(6)


def statuses(database_url: str) -> list[str]:
    database = Database(database_url)
    try:
        with database.session() as session:
            return list(session.exec(select_model(Delivery.status)).all())
    finally:
        database.engine.dispose()


def plan_prompts(
    database_url: str, emulator: BotApiEmulator, count: int, first_id: int
) -> list[SimUser]:
    """`count` clients whose movement-break plans fall due every PROMPT_EVERY seconds, all
    day, starting now."""
    users = seed_clients(database_url, emulator, count, first_id=first_id)
    database = Database(database_url)
    try:
        with database.session() as session:
            session.execute(
                insert(ReminderPlan).from_select(
                    [
                        "client_id",
                        "status",
                        "days",
                        "start_minute",
                        "end_minute",
                        "timezone",
                        "interval_seconds",
                        "next_due_at",
                    ],
                    select(
                        Client.id,
                        literal("active"),
                        literal("1111111"),
                        literal(0),
                        literal(24 * 60 - 1),
                        literal("UTC"),
                        literal(PROMPT_EVERY),
                        literal(utcnow()),
                    ).where(Client.telegram_id >= first_id),
                )
            )
    finally:
        database.engine.dispose()
    return users


@pytest.mark.slow
async def test_a_replica_killed_mid_broadcast_the_other_carries_on(
    replicas: Replicas,
    emulator: BotApiEmulator,
    staff: SimUser,
    database_url: str,
) -> None:
    """Two replicas, a tip to 300 clients while three others chat: the replica sending it is
    SIGKILLed half-way; the other takes over, nobody gets the tip twice, only what was in
    flight at the kill is unconfirmed, the chatting clients are answered throughout, and
    Telegram refused nothing (no 429)."""
    users = seed_clients(database_url, emulator, 300)
    chatting = [SimUser(emulator, 6100 + i, f"Chat {i}") for i in range(3)]
    await compose(staff)
    await send_now(staff)
    leader = await replicas.leader()
    while sum(len(tips_of(u)) for u in users) < 100:
        await emulator.changed(0.05)
    await replicas.kill(leader)
    for user in chatting:  # the surviving replica answers them
        await user.send("/help")
        await user.expect("What I can do", timeout=20)
    report = await wait_done(staff, 1, timeout=90)
    copies = [len(tips_of(u)) for u in users]
    assert max(copies) == 1, "nobody got the tip twice"
    final = statuses(database_url)
    unconfirmed = final.count("unconfirmed")
    assert unconfirmed <= 3, "only what was in flight at the kill"
    assert final.count("sent") + unconfirmed == 300
    assert sum(copies) >= final.count("sent")
    assert f"sent to {300 - unconfirmed} of 300" in report.shown_text
    # Telegram refused nothing (no 429): the emulator fixture checks it on the way out.


@pytest.mark.slow
async def test_a_rolling_restart_loses_nothing(
    replicas: Replicas, emulator: BotApiEmulator, staff: SimUser, database_url: str
) -> None:
    """Two replicas; a tip to 300 clients goes out while three clients chat. Each replica in
    turn gets SIGTERM, exits cleanly within 30 s and starts again: every client gets the tip
    exactly once, no delivery is left unconfirmed, and every question is answered."""
    users = seed_clients(database_url, emulator, 300)
    chatters = [Chatter(SimUser(emulator, 6100 + i, f"Chat {i}")) for i in range(3)]
    stop = asyncio.Event()
    chatting = [asyncio.create_task(c.run(stop)) for c in chatters]
    await compose(staff)
    await send_now(staff)
    while sum(len(tips_of(u)) for u in users) < 50:
        await emulator.changed(0.05)
    for index in range(len(replicas.urls)):
        assert await replicas.terminate(index) == 0, "a clean exit"
        await replicas.start_one(index)
        await replicas.healthy(index)
    report = await wait_done(staff, 1, timeout=120)
    stop.set()
    await asyncio.gather(*chatting)
    assert [len(tips_of(u)) for u in users] == [1] * 300, "everyone once, nobody twice"
    assert statuses(database_url) == ["sent"] * 300, "nothing unconfirmed after a clean stop"
    assert "sent to 300 of 300" in report.shown_text
    assert all(c.answered == c.asked > 0 for c in chatters), "every question answered"


@pytest.mark.slow
@pytest.mark.timeout(300)  # about a minute of Telegram's budget, on a busy 2-core machine
@pytest.mark.parametrize("replicas", [2, 3], indirect=True, ids=["2 replicas", "3 replicas"])
async def test_replicas_carry_a_big_tip_and_a_day_of_prompts_through_a_kill(
    replicas: Replicas, emulator: BotApiEmulator, staff: SimUser, database_url: str
) -> None:
    """A tip to 1,000 clients, 40 of whom also have a day of movement breaks (8 prompts
    each), while three clients chat; the replica sending them is SIGKILLed a third of the way:
    the others take over, no tip and no prompt is sent twice, only what was in flight at the
    kill is unconfirmed, every client gets the whole day's prompts, and no 429."""
    users = seed_clients(database_url, emulator, 960)
    users += plan_prompts(database_url, emulator, 40, first_id=960_000)
    walkers = users[-40:]
    chatters = [Chatter(SimUser(emulator, 6100 + i, f"Chat {i}")) for i in range(3)]
    stop = asyncio.Event()
    chatting = [asyncio.create_task(c.run(stop)) for c in chatters]
    await compose(staff)
    await send_now(staff)
    leader = await replicas.leader()
    while sum(len(tips_of(u)) for u in users) < 330:
        await emulator.changed(0.05)
    await replicas.kill(leader)
    report = await wait_done(staff, 1, timeout=180)
    while min(len(prompt_numbers(w)) for w in walkers) < PROMPTS_A_DAY:
        await emulator.changed(0.5)
    stop.set()
    await asyncio.gather(*chatting)

    copies = [len(tips_of(u)) for u in users]
    assert max(copies) == 1, "nobody got the tip twice"
    final = statuses(database_url)
    unconfirmed = final.count("unconfirmed")
    assert unconfirmed <= 3, "only what was in flight at the kill"
    assert final.count("sent") + unconfirmed == 1000 and sum(copies) >= final.count("sent")
    assert f"sent to {1000 - unconfirmed} of 1000" in report.shown_text
    for walker in walkers:
        numbers = prompt_numbers(walker)
        assert numbers == sorted(set(numbers)), "no prompt sent twice"
    assert all(c.answered == c.asked > 0 for c in chatters), "every question answered"


@pytest.mark.slow
@pytest.mark.timeout(240)  # a minute of outage, then the rest of the tip
async def test_telegram_away_for_a_minute_mid_tip_then_back_everyone_gets_it_once(
    replicas: Replicas, emulator: BotApiEmulator, staff: SimUser, database_url: str
) -> None:
    """Two replicas in webhook mode; the Bot API is unreachable for 60 s half-way through a
    tip to 300 clients. Nothing is written off while it is away, sending resumes on its own
    when it is back, and everyone gets the tip exactly once."""
    users = seed_clients(database_url, emulator, 300)
    await compose(staff)
    await send_now(staff)
    while sum(len(tips_of(u)) for u in users) < 100:
        await emulator.changed(0.05)
    await emulator.go_offline()
    at_cut = sum(len(tips_of(u)) for u in users)
    await asyncio.sleep(60)
    assert sum(len(tips_of(u)) for u in users) == at_cut, "nothing arrives while it is away"
    assert "unconfirmed" not in statuses(database_url), "nothing written off"
    await emulator.come_back()
    report = await wait_done(staff, 1, timeout=120)
    assert [len(tips_of(u)) for u in users] == [1] * 300
    assert statuses(database_url) == ["sent"] * 300
    assert "sent to 300 of 300" in report.shown_text
