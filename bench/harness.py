"""What the benchmarks share: the emulator in this process, the bot in another, its CPU."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil
import psycopg
from sqlalchemy.engine import make_url

from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.flood import FloodLimits
from bot.sandbox.users import SimUser

ROOT = Path(__file__).resolve().parent.parent
PROBE_ID = 999_999_999  # the user whose /start tells that a bot has started


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    ps: psutil.Process
    database_url: str
    log: str = ""  # what the bot logged, once it has stopped

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def server_cpu(self) -> dict[int, float]:
        """Its PostgreSQL backends' CPU seconds so far (`server_cpu`); none on SQLite."""
        if make_url(self.database_url).get_backend_name() == "sqlite":
            return {}
        return server_cpu(self.database_url)

    def server_cpu_since(self, before: dict[int, float]) -> float:
        """CPU seconds its PostgreSQL backends spent since `before` (from `server_cpu`)."""
        return sum(seconds - before.get(pid, 0.0) for pid, seconds in self.server_cpu().items())


@asynccontextmanager
async def emulator(flood: FloodLimits) -> AsyncIterator[BotApiEmulator]:
    emu = BotApiEmulator(flood=flood)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


def add_postgres_option(parser: argparse.ArgumentParser) -> None:
    """`--postgres [URL]`: run the bot on a fresh schema in PostgreSQL instead of SQLite."""
    parser.add_argument(
        "--postgres",
        nargs="?",
        const="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="run the bot on PostgreSQL (a fresh schema in this database) instead of SQLite",
    )


@contextmanager
def fresh_database(postgres_url: str | None, folder: str) -> Iterator[str]:
    """An empty database for one run: a SQLite file, or a PostgreSQL schema of its own."""
    if postgres_url is None:
        yield f"sqlite:///{folder}/bench.db"
        return
    libpq = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(postgres_url).update_query_dict(
            {"options": f"-csearch_path={schema}", "application_name": schema}
        )
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@asynccontextmanager
async def bot_process(
    emu: BotApiEmulator,
    module: list[str],
    postgres_url: str | None = None,
    before_start: Callable[[str], None] | None = None,
    **env: str,
) -> AsyncIterator[BotProcess]:
    """Start a bot (`python -m ...`) against the emulator and wait until it answers.
    `before_start(database_url)` may fill the database first."""
    with (
        tempfile.TemporaryDirectory() as folder,
        fresh_database(postgres_url, folder) as database_url,
    ):
        environment = {
            **os.environ,
            "BOT_TOKEN": emu.token,
            "BOT_API_URL": emu.base_url,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            **env,
        }
        if before_start is not None:
            before_start(database_url)
        log = Path(folder) / "bot.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", *module, cwd=folder, env=environment, stderr=stderr
            )
        try:
            probe = SimUser(emu, PROBE_ID, "Probe")
            await probe.send("/start")
            try:
                await probe.next_action(timeout=60)
            except TimeoutError:
                raise SystemExit(f"the bot did not start: {log.read_text()[-2000:]}") from None
            running = BotProcess(process, psutil.Process(process.pid), database_url)
            yield running
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
            if "running" in locals():
                running.log = log.read_text(errors="replace")


def server_cpu(database_url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving this database URL's connections
    (found by the application name `fresh_database` gives them; the machine's other users of
    the server are left out), by process id: sample before and after, and subtract."""
    url = make_url(database_url)
    name = url.query.get("application_name")
    libpq = url.set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        pids = [
            row[0]
            for row in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND pid <> "
                "pg_backend_pid()",
                (name,),
            )
        ]
    seconds = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            seconds[pid] = times.user + times.system
    return seconds


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)


def run(main: object) -> None:
    asyncio.run(main)  # type: ignore[arg-type]


def client_rows(first_id: int, count: int, now: datetime) -> list[dict[str, object]]:
    """`count` clients as the bot stores one who said yes to health answers and to tips and
    is idle, ids (Telegram and chat) from `first_id`: rows for a bulk INSERT."""
    return [
        {
            "telegram_id": first_id + n,
            "chat_id": first_id + n,
            "first_name": f"Client{n}",
            "stage": "idle",
            "health_consent": True,
            "health_consent_at": now,
            "tips_consent": True,
            "tips_consent_at": now,
            "blocked": False,
            "created_at": now,
            "last_active_at": now,
        }
        for n in range(count)
    ]
