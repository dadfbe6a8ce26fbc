"""Benchmark: one broadcast to 5,000 clients at Telegram's limits, beside a plain PTB loop.

    python -m bench.broadcast [--recipients 5000] [--chatting 20] [--postgres [URL]]

The emulator's flood control is on with Telegram's figures (30 messages a second overall,
about one a second per chat). Two bots in turn, each against a fresh emulator, with the same
recipients and the same 20 simulated clients chatting at human pace (a /help every 1 to 3 s,
the reply a new message):
- our bot (`python -m bot run`, its own process): the recipients are seeded in a fresh
  database as clients who said yes to tips; a staff member (in STAFF_IDS) sends /broadcast,
  the tip, and taps "Send now"; the run ends with "Report for tip #1";
- the anchor (`python -m bench.plain_broadcast_bot`): a plain `for chat in chats: await
  bot.send_message(...)` through PTB's AIORateLimiter with its default settings, started by the
  staff member's /broadcast, ending with its own report.
For each it prints, from what the emulator stored: tips sent, the tip rate between the first
and the last tip and the rate of all new messages the bot sent in that time (tips, replies,
reports: what Telegram counts) against the 30/s budget; 429 answers; duplicates (chats with
more than one tip) and losses (chats with none); the chatting clients' p50 and p99 from /help
to the reply while the broadcast ran.
Targets: at least 95% of the budget, zero 429s, zero duplicates and losses, chatting p99 under
1 s. One run of each (a run of 5,000 takes about four minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, insert

from bench.harness import (
    ROOT,
    add_postgres_option,
    bot_process,
    client_rows,
    emulator,
    percentile,
    run,
)
from bot.sandbox.emulator import BotApiEmulator, Message
from bot.sandbox.flood import FloodLimits
from bot.sandbox.users import SimUser
from dialogs.render import labels
from storage.db import sync_url, upgrade
from storage.models import Client, utcnow

FIRST_ID = 20_000_000
STAFF_ID = 4_242
CHATTER_ID = 700_000
SEND_RATE = 30.0
TIP = "Hi {{ first_name }}! Squeeze your glutes for 5 seconds, 10 times."
WARM_UP = 3.0  # seconds of chatting before the broadcast starts


@dataclass
class Chatting:
    samples: list[tuple[float, float]] = field(default_factory=list)  # (acted at, seconds)
    unanswered: int = 0

    def during(self, start: float, end: float) -> list[float]:
        return [seconds for at, seconds in self.samples if start <= at <= end]


@dataclass
class Result:
    name: str
    recipients: int
    tips: int = 0
    seconds: float = float("nan")
    tip_rate: float = float("nan")
    all_rate: float = float("nan")
    too_many: int = 0
    other_errors: int = 0
    duplicates: int = 0
    losses: int = 0
    replies: int = 0
    unanswered: int = 0
    p50: float = float("nan")
    p99: float = float("nan")
    note: str = ""


def seed(database_url: str, recipients: int) -> None:
    """`recipients` clients who said yes to tips, in one bulk insert per 5,000."""
    upgrade(database_url)
    rows = client_rows(FIRST_ID, recipients, utcnow())
    engine = create_engine(sync_url(database_url))
    with engine.begin() as connection:
        for chunk in range(0, recipients, 5000):
            connection.execute(insert(Client), rows[chunk : chunk + 5000])
    engine.dispose()


def open_chats(emu: BotApiEmulator, recipients: int) -> None:
    """Every recipient has opened a chat with the bot."""
    for n in range(recipients):
        user = {"id": FIRST_ID + n, "is_bot": False, "first_name": f"Client{n}"}
        emu.private_chat(user).started = True


def is_tip(message: Message) -> bool:
    return any(b.get("text") == labels.tips_unsubscribe for b in message.flat_buttons)


async def chatter(
    user: SimUser, tally: Chatting, stop: asyncio.Event, pace: tuple[float, float] = (1.0, 3.0)
) -> None:
    """/help every `pace` seconds until told to stop; the time from each to the bot's reply."""
    rng = random.Random(user.id)
    while True:
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(*pace))
            return
        except TimeoutError:
            pass
        await user.send("/help")
        started = user.acted_at
        try:
            reply = await user.next_action(timeout=60)
        except TimeoutError:
            tally.unanswered += 1
            continue
        tally.samples.append((started, reply.at - started))


async def measure(
    emu: BotApiEmulator,
    result: Result,
    chatting: int,
    broadcast: Callable[[], Awaitable[None]],
    pace: tuple[float, float] = (1.0, 3.0),
) -> None:
    """Run the broadcast while `chatting` clients chat (a message every `pace` seconds), then
    read the figures off the emulator."""
    tally, stop = Chatting(), asyncio.Event()
    users = [SimUser(emu, CHATTER_ID + i, f"Talker{i}") for i in range(chatting)]
    talking = [asyncio.create_task(chatter(u, tally, stop, pace)) for u in users]
    try:
        await asyncio.sleep(WARM_UP)
        await broadcast()
    finally:
        stop.set()
        await asyncio.gather(*talking, return_exceptions=True)

    tip_times: list[float] = []
    for n in range(result.recipients):
        tips = [
            a.at for a in emu.chats[FIRST_ID + n].actions if a.kind == "send" and is_tip(a.message)
        ]
        tip_times += tips
        result.duplicates += len(tips) > 1
        result.losses += not tips
    tip_times.sort()
    result.tips = len(tip_times)
    result.too_many = sum(1 for e in emu.errors if e.code == 429)
    result.other_errors = sum(1 for e in emu.errors if e.code != 429)
    result.unanswered = tally.unanswered
    if len(tip_times) < 2:
        return
    first, last = tip_times[0], tip_times[-1]
    result.seconds = last - first
    result.tip_rate = (len(tip_times) - 1) / result.seconds
    sends = sum(
        1
        for chat in emu.chats.values()
        for a in chat.actions
        if a.kind == "send" and first <= a.at <= last
    )
    result.all_rate = (sends - 1) / result.seconds
    during = tally.during(first, last)
    result.replies = len(during)
    result.p50, result.p99 = (percentile(during, p) * 1000 for p in (50, 99))


async def wait_report(staff: SimUser, heading: str, result: Result) -> None:
    """Wait for the bot's report to the staff member (at a quarter of the budget at worst)."""
    try:
        report = await staff.expect(heading, timeout=result.recipients / SEND_RATE * 4 + 120)
    except AssertionError:
        result.note = "no report before the time-out"
        return
    result.note = report.shown_text.splitlines()[0][:120]


async def compose(staff: SimUser) -> Message:
    """The staff member writes the tip; the panel under its preview."""
    await staff.send("/broadcast")
    await staff.expect("Send me the tip", timeout=30)
    await staff.send(TIP)
    return await staff.expect("Audience:", timeout=120)


def sending(staff: SimUser, panel: Message, result: Result) -> Callable[[], Awaitable[None]]:
    """ "Send now", "Yes", and the wait for the report: what `measure` times."""

    async def send_now() -> None:
        await staff.tap(labels.bc_send_now, message=panel)
        confirm = await staff.expect("now?", timeout=120)
        yes = next(b["text"] for b in confirm.flat_buttons if b["text"].startswith("📤 Yes"))
        await staff.tap(yes, message=confirm)
        await wait_report(staff, "Report for tip #", result)

    return send_now


async def our_bot(recipients: int, chatting: int, postgres: str | None) -> Result:
    result = Result("our bot", recipients)
    async with emulator(FloodLimits()) as emu:
        open_chats(emu, recipients)
        staff = SimUser(emu, STAFF_ID, "Sam")
        seeding = time.monotonic()
        async with bot_process(
            emu,
            ["bot", "run"],
            postgres,
            before_start=lambda url: seed(url, recipients),
            STAFF_IDS=str(STAFF_ID),
            SEND_RATE=str(SEND_RATE),
        ) as bot:
            print(
                f"  our bot: seeded and started in {time.monotonic() - seeding:.1f} s", flush=True
            )
            panel = await compose(staff)
            if f"{recipients} clients" not in panel.shown_text:
                raise SystemExit(f"the panel does not show {recipients} clients: {panel.text}")
            await measure(emu, result, chatting, sending(staff, panel, result))
        if result.note == "no report before the time-out":
            print(bot.log[-3000:])
    return result


async def plain_loop(recipients: int, chatting: int) -> Result:
    result = Result("plain AIORateLimiter loop", recipients)
    with tempfile.TemporaryDirectory() as folder:
        chats = Path(folder) / "chats.tsv"
        chats.write_text(
            "".join(f"{FIRST_ID + n}\tClient{n}\n" for n in range(recipients)), encoding="utf-8"
        )
        async with emulator(FloodLimits()) as emu:
            open_chats(emu, recipients)
            staff = SimUser(emu, STAFF_ID, "Sam")
            async with bot_process(
                emu,
                ["bench.plain_broadcast_bot"],
                PYTHONPATH=str(ROOT),
                PLAIN_CHATS=str(chats),
                PLAIN_STAFF_ID=str(STAFF_ID),
                PLAIN_BUTTON=labels.tips_unsubscribe,
            ) as bot:

                async def start() -> None:
                    await staff.send("/broadcast")
                    await wait_report(staff, "Report:", result)

                await measure(emu, result, chatting, start)
            if result.note == "no report before the time-out":
                print(bot.log[-3000:])
    return result


def table(results: list[Result]) -> list[str]:
    def row(label: str, cell: Callable[[Result], str]) -> str:
        return f"  {label:<36}" + "".join(f"{cell(r):>28}" for r in results)

    return [
        row("", lambda r: r.name),
        row("recipients", lambda r: str(r.recipients)),
        row("tips sent (stored by the emulator)", lambda r: str(r.tips)),
        row("first tip to last, s", lambda r: f"{r.seconds:.1f}"),
        row("tip rate, /s", lambda r: f"{r.tip_rate:.2f}"),
        row("tips, share of the 30/s budget", lambda r: share(r.tip_rate)),
        row("all sends in that time, /s", lambda r: f"{r.all_rate:.2f}"),
        row("all sends, share of the budget", lambda r: share(r.all_rate)),
        row("429 answers", lambda r: str(r.too_many)),
        row("other refused calls", lambda r: str(r.other_errors)),
        row("duplicates (chats with >1 tip)", lambda r: str(r.duplicates)),
        row("losses (chats with no tip)", lambda r: str(r.losses)),
        row("chatting: replies during it", lambda r: f"{r.replies} ({r.unanswered} unanswered)"),
        row("chatting: p50 / p99, ms", lambda r: f"{r.p50:.0f} / {r.p99:.0f}"),
    ]


def targets(results: list[Result]) -> list[str]:
    def mark(ok: bool) -> str:
        return "✓" if ok else "✗"

    checks: list[tuple[str, Callable[[Result], tuple[bool, str]]]] = [
        (
            "all sends >= 95% of the budget",
            lambda r: (r.all_rate >= 0.95 * SEND_RATE, share(r.all_rate)),
        ),
        ("zero 429s", lambda r: (r.too_many == 0, str(r.too_many))),
        (
            "zero duplicates and losses",
            lambda r: (r.duplicates == 0 and r.losses == 0, f"{r.duplicates} / {r.losses}"),
        ),
        ("chatting p99 < 1000 ms", lambda r: (r.p99 < 1000 and not r.unanswered, f"{r.p99:.0f}")),
    ]
    lines = ["targets:"]
    for label, check in checks:
        cells = ""
        for r in results:
            ok, shown = check(r)
            cells += f"{mark(ok) + ' ' + shown:>28}"
        lines.append(f"  {label:<36}{cells}")
    return lines


def share(rate: float) -> str:
    return f"{rate / SEND_RATE * 100:.1f}%"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--chatting", type=int, default=20)
    add_postgres_option(parser)
    args = parser.parse_args()
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"broadcast benchmark: {args.recipients} recipients, our bot on {database}, flood limits "
        f"on (30/s overall, 1/s per chat), {args.chatting} clients chatting at human pace; "
        "1 run each",
        flush=True,
    )
    ours = await our_bot(args.recipients, args.chatting, args.postgres)
    print(f"  our bot: {ours.note}", flush=True)
    plain = await plain_loop(args.recipients, args.chatting)
    print(f"  plain loop: {plain.note}", flush=True)
    print("\n".join(table([ours, plain]) + targets([ours, plain])))


if __name__ == "__main__":
    run(main())
