"""Shared fixtures: databases (SQLite always, PostgreSQL when it answers), the emulator, the
real bot running against it, and simulated people."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator, CallbackQuery
from bot.sandbox.flood import FloodLimits
from bot.sandbox.users import SimUser
from bot.settings import Settings
from storage.db import Database, upgrade

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
STAFF_ID = 777000
STAFF_CHAT_ID = -1009990001


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _postgres_available() -> bool:
    try:
        with psycopg.connect(_libpq(POSTGRES_URL), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The few long end-to-end runs (marked `slow`) go first: on the suite's six workers they
    then run beside the short tests instead of after them, as the suite's long tail."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: else as is


POSTGRES = _postgres_available()
if "TEST_POSTGRES_URL" in os.environ and not POSTGRES:
    raise pytest.UsageError("TEST_POSTGRES_URL is set but PostgreSQL does not answer there")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres", marks=pytest.mark.skipif(not POSTGRES, reason="PostgreSQL is not reachable")
    ),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bmx.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The fresh database at the newest schema, for tests of queries without the bot."""
    upgrade(database_url)
    database = Database(database_url)
    yield database
    database.engine.dispose()


def make_settings(**values: object) -> Settings:
    """Settings from explicit values only (no .env; the environment cannot override these)."""
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def flood_limits() -> FloodLimits:
    """Telegram's own figures. Tests about flood control override this fixture."""
    return FloodLimits()


def unanswered(emulator: BotApiEmulator) -> list[CallbackQuery]:
    """The callback queries nobody answered (a late answer is refused by the emulator after
    its CALLBACK_DEADLINE, and so shows in `errors` instead)."""
    return [q for q in emulator.callback_queries.values() if q.answered_at is None]


async def answers_landed(emulator: BotApiEmulator, patience: float = 5.0) -> None:
    """Give the bot a moment for the last answers to land: wait while a callback query is
    still unanswered, at most `patience` seconds (no wait at all when none is)."""
    deadline = time.monotonic() + patience
    while unanswered(emulator) and time.monotonic() < deadline:
        await emulator.changed(0.2)


@pytest.fixture
async def emulator(
    request: pytest.FixtureRequest, flood_limits: FloodLimits
) -> AsyncIterator[BotApiEmulator]:
    """The Bot API. On the way out it checks two things every test that uses it gets for free,
    whoever ran the bot (the `bot` fixture, a test's own RunningBot, a bot process): Telegram
    refused nothing, and every button press was answered. A test that provokes refusals on
    purpose asserts exactly those and clears them (`emulator.errors.clear()`); a test of the
    emulator's own rules opts out with `@pytest.mark.refusals_expected`."""
    emu = BotApiEmulator(flood=flood_limits)
    await emu.start()
    emu.group_chat(STAFF_CHAT_ID, "BodyMechanix staff")
    try:
        yield emu
        if request.node.get_closest_marker("refusals_expected") is None:
            await answers_landed(emu)
            assert emu.errors == [], f"the emulator refused calls: {emu.errors}"
            never = unanswered(emu)
            assert never == [], f"callback queries never answered: {never}"
    finally:
        await emu.stop()


@pytest.fixture
def settings(emulator: BotApiEmulator, database_url: str) -> Settings:
    return make_settings(
        bot_token=emulator.token,
        bot_api_url=emulator.base_url,
        database_url=database_url,
        staff_ids=str(STAFF_ID),
        staff_chat_id=STAFF_CHAT_ID,
        log_level="INFO",
    )


@pytest.fixture
async def bot(settings: Settings, emulator: BotApiEmulator) -> AsyncIterator[RunningBot]:
    """The real bot, polling the emulator (whose fixture then checks that Telegram refused
    nothing and that every button press was answered)."""
    async with RunningBot(settings, poll_timeout=1.0, settle=False) as running:
        yield running
        await emulator.changed(0.2)  # let the last replies land
        await answers_landed(emulator)  # ...and the last answers, while the bot still runs


@pytest.fixture
def alice(emulator: BotApiEmulator) -> SimUser:
    return SimUser(emulator, 5001, "Alice", username="alice_b")


@pytest.fixture
def staff(emulator: BotApiEmulator) -> SimUser:
    return SimUser(emulator, STAFF_ID, "Sam", username="sam_staff")
