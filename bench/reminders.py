"""Benchmark: movement-break prompts for 100,000 clients at Telegram's limits.

    python -m bench.reminders [--clients 100000] [--minutes 5] [--postgres [URL]]

100,000 opted-in clients are seeded in a fresh database: hourly prompts, a spread of time
zones and working windows, every one of them inside its window now, so about one in twelve
falls due in five minutes (about 8,300). The real bot (`python -m bot run`, its own process)
then runs against the emulator with Telegram's flood limits on (30 messages a second overall,
about one a second per chat) while 20 simulated clients go through the screening at human
pace. It prints:
- prompts sent against those due, the send rate against the due rate and the 30/s budget;
- p50 and p99 lateness of each prompt against its due time; 429 answers;
- the scheduler's CPU per tick and the bot's peak memory (from the bot's own log and /proc);
- the chatting clients' p50 and p99 time from a tap to the bot's answer.
Targets: every due prompt sent, p99 lateness under 60 s, zero 429s, peak memory under 300 MB,
chatting clients' p99 under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, insert, text

from bench.harness import add_postgres_option, bot_process, emulator, percentile, run
from bench.screening import Tally, screening_client
from bot.sandbox.flood import FloodLimits
from bot.sandbox.users import SimUser
from dialogs.schedule import Window, next_slot, stable_offset
from storage.db import sync_url, upgrade
from storage.models import Client, ReminderPlan, utcnow

ZONES = (
    "Europe/London",
    "Europe/Paris",
    "Europe/Helsinki",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)
HOUR = timedelta(hours=1)
FIRST_ID = 10_000_000
STARTUP = timedelta(seconds=25)  # the bot's start-up: nothing falls due before it is running


def seed(database_url: str, clients: int, start: datetime) -> dict[int, datetime]:
    """Clients with active hourly plans, each inside its window at `start`. Returns each
    client's first due time (chat id -> due), as the bot will see it."""
    upgrade(database_url)
    rng = random.Random(7)
    engine = create_engine(sync_url(database_url))
    due: dict[int, datetime] = {}
    client_rows, plan_rows = [], []
    for n in range(clients):
        zone = ZONES[n % len(ZONES)]
        here = start.astimezone(ZoneInfo(zone))
        minute_now = here.hour * 60 + here.minute
        start_minute = max(0, minute_now - rng.randint(30, 180))
        end_minute = min(24 * 60 - 1, max(minute_now + rng.randint(90, 240), start_minute + 60))
        if end_minute - minute_now < 70:  # too near midnight to stay in the window: shift
            start_minute, end_minute = 0, 24 * 60 - 1
        offset = stable_offset(n + 1, HOUR)
        window = Window(
            days=frozenset(range(7)),
            start=clock(start_minute // 60, start_minute % 60),
            end=clock(end_minute // 60, end_minute % 60),
            interval=HOUR,
            zone=ZoneInfo(zone),
            offset=offset,
        )
        first = next_slot(window, start)
        assert first is not None
        chat = FIRST_ID + n
        due[chat] = first
        now = utcnow()
        client_rows.append(
            {
                "id": n + 1,
                "telegram_id": chat,
                "chat_id": chat,
                "first_name": f"Client{n}",
                "stage": "idle",
                "blocked": False,
                "created_at": now,
                "last_active_at": now,
            }
        )
        plan_rows.append(
            {
                "client_id": n + 1,
                "status": "active",
                "days": "1111111",
                "start_minute": start_minute,
                "end_minute": end_minute,
                "interval_seconds": 3600,
                "timezone": zone,
                "offset_seconds": int(offset.total_seconds()),
                "next_due_at": first,
                "summary_due_at": start + timedelta(days=7),
                "prompt_seq": 0,
                "unanswered_days": 0,
                "created_at": now,
            }
        )
    with engine.begin() as connection:
        for chunk in range(0, clients, 5000):
            connection.execute(insert(Client), client_rows[chunk : chunk + 5000])
            connection.execute(insert(ReminderPlan), plan_rows[chunk : chunk + 5000])
        if engine.dialect.name == "postgresql":  # explicit ids leave the sequence behind
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('client', 'id'), max(id)) FROM client")
            )
    engine.dispose()
    return due


def _peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--chatting", type=int, default=20)
    add_postgres_option(parser)
    args = parser.parse_args()
    duration = timedelta(minutes=args.minutes)

    async with emulator(FloodLimits()) as emu:
        for n in range(args.clients):  # every seeded client has opened a chat with the bot
            emu.private_chat(
                {"id": FIRST_ID + n, "is_bot": False, "first_name": f"C{n}"}
            ).started = True
        seeded: dict[int, datetime] = {}

        def seeding(url: str) -> None:
            seeded.update(seed(url, args.clients, utcnow() + STARTUP))

        async with bot_process(
            emu, ["bot", "run"], args.postgres, LOG_LEVEL="INFO", before_start=seeding
        ) as bot:
            began = utcnow()
            wall_offset = time.time() - time.monotonic()
            ends = began + duration
            tally = Tally()
            newcomers = iter(range(500_000, 600_000))

            async def chat() -> None:
                """One newcomer after another through the screening, at human pace."""
                while utcnow() < ends:
                    n = next(newcomers)
                    await screening_client(SimUser(emu, n, f"Talker{n}"), tally, (1.0, 3.0))

            talking = [asyncio.create_task(chat()) for _ in range(args.chatting)]
            await asyncio.sleep((ends - utcnow()).total_seconds())
            for task in talking:
                task.cancel()
            await asyncio.gather(*talking, return_exceptions=True)
            peak = _peak_memory_mb(bot.process.pid)
            stopped = utcnow()
        log_text = bot.log

    due_in_run = {
        chat: at for chat, at in seeded.items() if began <= at <= ends - timedelta(seconds=60)
    }
    late: list[float] = []
    missing = 0
    sends_in_run = 0
    for chat, due_at in seeded.items():
        sent = [a for a in emu.chats[chat].actions if a.kind == "send"]
        sends_in_run += len(sent)
        if chat in due_in_run:
            if not sent:
                missing += 1
                continue
            sent_at = datetime.fromtimestamp(sent[0].at + wall_offset, UTC)
            late.append((sent_at - due_at).total_seconds())
    seconds = (stopped - began).total_seconds()
    due_rate = sum(1 for at in seeded.values() if began <= at <= stopped) / seconds
    too_many = sum(1 for e in emu.errors if e.code == 429)
    ticks = re.search(r"(\d+) ticks, ([\d.]+) ms CPU per tick, ([\d.]+) ms at most", log_text)
    database = "PostgreSQL" if args.postgres else "SQLite"
    p50, p99 = percentile(late, 50), percentile(late, 99)
    chat50, chat99 = (percentile(tally.latencies, p) * 1000 for p in (50, 99))
    lines = [
        f"reminders benchmark: {args.clients} clients, {database}, {seconds:.0f} s, limits on",
        f"  prompts due (to 60 s before the end) {len(due_in_run)}, sent {len(late)}, "
        f"missing {missing}",
        f"  send rate               {sends_in_run / seconds:6.1f}/s  "
        f"(due {due_rate:.1f}/s, budget 30/s)",
        f"  lateness p50 / p99      {p50:6.1f} s / {p99:.1f} s  (target p99 < 60 s)",
        f"  429 answers             {too_many:6d}  (target 0)",
    ]
    if ticks:
        lines.append(
            f"  scheduler tick CPU      {ticks.group(2):>6} ms average, "
            f"{ticks.group(3)} ms at most ({ticks.group(1)} ticks)"
        )
    lines += [
        f"  bot peak memory         {peak:6.1f} MB  (target < 300 MB)",
        f"  chatting clients        {tally.actions} taps, p50 {chat50:.0f} ms, "
        f"p99 {chat99:.0f} ms  (target p99 < 1000 ms)",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    run(main())
