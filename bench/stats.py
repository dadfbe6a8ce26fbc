"""Benchmark: staff /stats (chart and figures) on a large database, and what it does to others.

    python -m bench.stats [--clients 100000] [--events 1000000] [--runs 5] [--chatting 20]
                          [--postgres [URL]]

The database is filled in bulk before the bot starts: `--clients` clients and `--events`
events of every kind /stats counts (and others it does not), spread over 90 days, plus a
few broadcasts with their deliveries and unsubscribes, and 12 weeks of pain check-ins of
every third client (some skipped or unanswered), from which /stats works out the change in
pain after 4 weeks. The bot (`python -m bot run`, its own
process) then answers a staff member's /stats `--runs` times, one after another: printed, the
time from the command to the chart's arrival (median and max; target: under 2 s) and to the
detailed figures after it. Meanwhile-or-not: `--chatting` clients send /help at a human pace
(every 1 to 3 s), first for a quiet spell without /stats, then while /stats runs back to
back; printed, their p50 and p99 from /help to its reply in both spells (target: /stats does
not stall them, p99 about the same).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import create_engine, insert
from sqlalchemy.engine import make_url

from bench.broadcast import Chatting, chatter
from bench.harness import (
    add_postgres_option,
    bot_process,
    client_rows,
    emulator,
    median,
    percentile,
    run,
)
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.flood import FloodLimits
from bot.sandbox.users import SimUser
from dialogs.charts import draw_stats
from storage.db import sync_url, upgrade
from storage.models import Broadcast, Client, Delivery, Event, PainCheckin, utcnow
from storage.stats import KINDS, clinic_days

STAFF_ID = 555_000
CHATTING_ID = 600_000
FIRST_ID = 10_000_000
SPAN_DAYS = 90
CHAT_PACE = 1.5  # seconds between one /stats's last message and the next /stats
# Event kinds in proportion (per client roughly): the funnel, reminders and the rest.
MIX = (
    ("screening_started", 9),
    ("screening_finished", 7),
    ("booking_shown", 7),
    ("red_flag_exit", 1),
    ("handoff", 1),
    ("consent_health", 10),
    ("consent_tips", 8),
    ("reminders_on", 3),
    ("reminders_check_in", 4),
    ("break_done", 40),
    ("screening_cancelled", 2),
)
SERVICES = ("pain_eliminator", "tnt", "laser")
CHECKIN_WEEKS = SPAN_DAYS // 7
CHECKIN_EVERY = 3  # every third client answers the weekly check-in
SOURCES = tuple(f"flyer_{n}" for n in range(15))


def events(clients: int, count: int, now: object) -> list[dict[str, object]]:
    """`count` events: one client_new per client, the rest drawn from MIX, at random moments
    of the last SPAN_DAYS days."""
    rng = random.Random(7)
    kinds, weights = zip(*MIX, strict=True)
    span = SPAN_DAYS * 86400
    rows: list[dict[str, object]] = []
    for n in range(count):
        at = now - timedelta(seconds=rng.uniform(0, span))  # type: ignore[operator]
        if n < clients:
            kind, data = "client_new", {"source": rng.choice((None, *SOURCES))}
        else:
            kind = rng.choices(kinds, weights)[0]
            data = None
            if kind == "screening_finished":
                data = {"band": "mild", "services": rng.sample(SERVICES, 2)}
            elif kind == "red_flag_exit":
                data = {"tier": rng.choice("AB"), "symptom": "numbness"}
            elif kind.startswith("consent_"):
                data = {"agree": rng.random() < 0.9}
        rows.append({"client_id": rng.randint(1, clients), "kind": kind, "at": at, "data": data})
    return rows


def checkins(clients: int, now: datetime) -> list[dict[str, object]]:
    """The weekly pain check-ins of every CHECKIN_EVERY-th client over the last
    CHECKIN_WEEKS weeks: a score drifting down from where they started, one week in ten
    skipped and one in ten never answered."""
    rng = random.Random(13)
    this_monday = now.date() - timedelta(days=now.weekday())
    rows: list[dict[str, object]] = []
    for client_id in range(1, clients + 1, CHECKIN_EVERY):
        start = rng.randint(2, 9)
        for back in range(CHECKIN_WEEKS):
            week = this_monday - timedelta(weeks=CHECKIN_WEEKS - 1 - back)
            asked = datetime.combine(week, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
            roll = rng.random()
            score = max(0, min(10, start - back // 3 + rng.randint(-1, 1)))
            rows.append(
                {
                    "client_id": client_id,
                    "week": week,
                    "asked_at": asked,
                    "score": None if roll < 0.2 else score,
                    "answered_at": None if roll < 0.1 else asked + timedelta(minutes=5),
                }
            )
    return rows


def fill(database_url: str, clients: int, count: int) -> None:
    """The schema, then clients, events, pain check-ins, and three broadcasts to the first
    10,000 clients."""
    upgrade(database_url)
    now = utcnow()
    people = client_rows(FIRST_ID, clients, now)
    rows = events(clients, count, now)
    pain = checkins(clients, now)
    recipients = min(clients, 10_000)
    started = [now - timedelta(days=d) for d in (20, 9, 2)]
    engine = create_engine(sync_url(database_url))
    with engine.begin() as connection:
        for chunk in range(0, clients, 10_000):
            connection.execute(insert(Client), people[chunk : chunk + 10_000])
        connection.execute(
            insert(Broadcast),
            [{"staff_id": STAFF_ID, "status": "done", "started_at": at} for at in started],
        )
        deliveries = [
            {
                "broadcast_id": b + 1,
                "client_id": c + 1,
                "chat_id": FIRST_ID + c,
                "status": "blocked" if c % 50 == 0 else "sent",
                "updated_at": at,
            }
            for b, at in enumerate(started)
            for c in range(recipients)
        ]
        for chunk in range(0, len(deliveries), 10_000):
            connection.execute(insert(Delivery), deliveries[chunk : chunk + 10_000])
        if engine.dialect.name != "postgresql":
            for chunk in range(0, count, 20_000):
                connection.execute(insert(Event), rows[chunk : chunk + 20_000])
            for chunk in range(0, len(pain), 20_000):
                connection.execute(insert(PainCheckin), pain[chunk : chunk + 20_000])
    if engine.dialect.name == "postgresql":  # COPY: a million rows in seconds
        url = make_url(sync_url(database_url))
        libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(libpq) as connection, connection.cursor() as cursor:
            with cursor.copy("COPY event (client_id, kind, at, data) FROM STDIN") as copy:
                for row in rows:
                    data = None if row["data"] is None else Jsonb(row["data"])
                    copy.write_row((row["client_id"], row["kind"], row["at"], data))
            columns = ("client_id", "week", "asked_at", "score", "answered_at")
            table = PainCheckin.__tablename__
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in pain:
                    copy.write_row(tuple(row[column] for column in columns))
        # What autovacuum does soon after a bulk load: statistics and the visibility map.
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
    engine.dispose()


async def stats_once(staff: SimUser) -> tuple[float, float]:
    """/stats: seconds to the chart, and to the detailed figures after it. A pause first:
    the bot keeps to Telegram's pace of about one message a second per chat, so a /stats
    sent right after the last one's figures would have its chart wait for that, not work."""
    await asyncio.sleep(CHAT_PACE)
    await staff.send("/stats")
    sent = staff.acted_at
    chart = await staff.next_action(timeout=120)
    if not chart.message.photo:
        raise SystemExit(f"/stats answered without a chart first: {chart.message.shown_text}")
    text = await staff.next_action(timeout=120)
    return chart.at - sent, text.at - sent


def readme_chart() -> bytes:
    """The README's picture of /stats: a month of a small clinic's bot (weekends quieter,
    a slow rise), drawn as /stats draws it (`dialogs.charts.draw_stats`)."""
    rng = random.Random(11)
    zone = ZoneInfo("Europe/London")
    now = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    days = clinic_days(now, zone, 30)
    scale = {"client_new": 14, "screening_started": 12, "screening_finished": 10}
    scale |= {"booking_shown": 9, "red_flag_exit": 1, "handoff": 2, "reminders_on": 3}
    scale |= {"break_done": 60}

    def day_count(kind: str, index: int, day: date) -> int:
        mean = scale[kind] * (0.6 if day.weekday() >= 5 else 1.0) * (1 + index / 60)
        return max(0, round(rng.gauss(mean, scale[kind] ** 0.5)))

    daily = {k: tuple(day_count(k, i, d) for i, d in enumerate(days.dates)) for k in KINDS}
    return draw_stats(days.dates, daily, zone)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chatting", type=int, default=20)
    parser.add_argument("--spell", type=float, default=15.0, help="seconds of each spell")
    parser.add_argument("--readme-chart", metavar="PATH", help="only draw the README's chart")
    add_postgres_option(parser)
    args = parser.parse_args()
    if args.readme_chart:
        Path(args.readme_chart).write_bytes(readme_chart())
    else:
        run(main(args))


async def main(args: argparse.Namespace) -> None:
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"stats benchmark: /stats with {args.clients} clients and {args.events} events on "
        f"{database}; {args.chatting} clients chatting at a human pace",
        flush=True,
    )
    async with emulator(FloodLimits()) as emu:
        staff = SimUser(emu, STAFF_ID, "Sam")
        filling = time.monotonic()
        async with bot_process(
            emu,
            ["bot", "run"],
            args.postgres,
            before_start=lambda url: fill(url, args.clients, args.events),
            STAFF_IDS=str(STAFF_ID),
            CLINIC_TIMEZONE="America/New_York",
        ):
            print(f"  filled and started in {time.monotonic() - filling:.1f} s", flush=True)
            await stats_once(staff)  # a first run warms the caches (and imports matplotlib)
            charts, texts = [], []
            for _ in range(args.runs):
                chart, text = await stats_once(staff)
                charts.append(chart)
                texts.append(text)
            print(
                f"  /stats to its chart: median {median(charts):.2f} s, max {max(charts):.2f} s "
                f"over {args.runs} runs (target: under 2 s); to the detailed figures: median "
                f"{median(texts):.2f} s",
                flush=True,
            )
            quiet, busy = await chatting_spells(emu, staff, args.chatting, args.spell)
            for name, tally in (("without /stats", quiet), ("while /stats runs", busy)):
                samples = [s for _, s in tally.samples]
                print(
                    f"  others' /help → reply {name}: p50 {percentile(samples, 50) * 1000:.0f} ms, "
                    f"p99 {percentile(samples, 99) * 1000:.0f} ms ({len(samples)} replies, "
                    f"{tally.unanswered} unanswered)",
                    flush=True,
                )


async def chatting_spells(
    emu: BotApiEmulator, staff: SimUser, chatting: int, spell: float
) -> tuple[Chatting, Chatting]:
    """Clients chat for a quiet spell, then for a spell in which /stats runs back to back."""
    users = [SimUser(emu, CHATTING_ID + n, f"Chat{n}") for n in range(chatting)]
    tallies = []
    for busy in (False, True):
        tally, stop = Chatting(), asyncio.Event()
        chats = [asyncio.create_task(chatter(user, tally, stop)) for user in users]
        deadline = time.monotonic() + spell
        runs = 0
        while time.monotonic() < deadline:
            if busy:
                await stats_once(staff)
                runs += 1
            else:
                await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*chats)
        tallies.append(tally)
        if busy:
            print(f"  /stats ran {runs} times during the busy spell", flush=True)
    return tallies[0], tallies[1]


if __name__ == "__main__":
    cli()
