"""Benchmark: 50 clients flooding the bot while a broadcast runs and 20 people chat calmly.

    python -m bench.flood [--recipients 2000] [--flooders 50] [--chatting 20] [--postgres [URL]]

The emulator's flood control is on with Telegram's figures (30 messages a second overall,
about one a second per chat). The bot (`python -m bot run`, its own process) has the
recipients seeded as clients who said yes to tips; a staff member sends a tip to all of them.
Three seconds before "Send now", the load starts and runs until the report:
- `--flooders` clients each send a message five times a second (text, as fast as a script);
- `--chatting` clients send /help at a human pace (every 5 to 15 s) and wait for the reply.
Printed, from what the emulator stored and the bot process: the tips' share of the 30/s budget
between the first tip and the last (target: at least 60%), duplicates and losses, 429s, the
replies the flooders got (one "slow down" note each, then a trickle), the calm clients' p50 and
p99 from /help to its reply (target: p99 under 1 s), and the bot's memory (RSS) before the
flood, at its peak and at the end (target: flat, the peak within a few MB of the start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections import Counter

from bench.broadcast import (
    FIRST_ID,
    SEND_RATE,
    STAFF_ID,
    TIP,
    Chatting,
    chatter,
    is_tip,
    open_chats,
    seed,
    share,
)
from bench.harness import add_postgres_option, bot_process, emulator, percentile, run
from bot.sandbox.flood import FloodLimits
from bot.sandbox.users import SimUser
from dialogs.render import labels

FLOODER_ID = 800_000
CALM_ID = 700_000
FLOOD_RATE = 5.0  # messages a second from each flooder
WARM_UP = 3.0
CALM_PACE = (5.0, 15.0)  # seconds between a calm client's messages


async def flooder(user: SimUser, stop: asyncio.Event) -> int:
    """A message every 1/FLOOD_RATE s until told to stop; how many were sent."""
    sent = 0
    while not stop.is_set():
        await user.send(f"spam {sent}")
        sent += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1 / FLOOD_RATE)
    return sent


async def sample_memory(bot_rss: list[float], ps: object, stop: asyncio.Event) -> None:
    while not stop.is_set():
        bot_rss.append(ps.memory_info().rss / 2**20)  # type: ignore[attr-defined]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--flooders", type=int, default=50)
    parser.add_argument("--chatting", type=int, default=20)
    add_postgres_option(parser)
    args = parser.parse_args()
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"flood benchmark: a tip to {args.recipients} clients on {database} while "
        f"{args.flooders} clients send {FLOOD_RATE:g} messages a second each and "
        f"{args.chatting} chat calmly; flood limits on (30/s overall, 1/s per chat)",
        flush=True,
    )
    async with emulator(FloodLimits()) as emu:
        open_chats(emu, args.recipients)
        staff = SimUser(emu, STAFF_ID, "Sam")
        async with bot_process(
            emu,
            ["bot", "run"],
            args.postgres,
            before_start=lambda url: seed(url, args.recipients),
            STAFF_IDS=str(STAFF_ID),
            SEND_RATE=str(SEND_RATE),
        ) as bot:
            await staff.send("/broadcast")
            await staff.expect("Send me the tip", timeout=30)
            await staff.send(TIP)
            panel = await staff.expect("Audience:", timeout=120)
            rss: list[float] = []
            stop, tally = asyncio.Event(), Chatting()
            flooders = [SimUser(emu, FLOODER_ID + i, f"Flood{i}") for i in range(args.flooders)]
            calms = [SimUser(emu, CALM_ID + i, f"Calm{i}") for i in range(args.chatting)]
            memory = asyncio.create_task(sample_memory(rss, bot.ps, stop))
            await asyncio.sleep(1.0)
            start_rss = rss[-1]
            load = [asyncio.create_task(flooder(u, stop)) for u in flooders]
            load += [asyncio.create_task(chatter(u, tally, stop, CALM_PACE)) for u in calms]
            await asyncio.sleep(WARM_UP)
            began = time.monotonic()
            await staff.tap(labels.bc_send_now, message=panel)
            confirm = await staff.expect("now?", timeout=120)
            yes = next(b["text"] for b in confirm.flat_buttons if b["text"].startswith("📤 Yes"))
            await staff.tap(yes, message=confirm)
            timeout = args.recipients / SEND_RATE * 6 + 120
            report = await staff.expect("Report for tip #", timeout=timeout)
            elapsed = time.monotonic() - began
            stop.set()
            sent = await asyncio.gather(*load)
            await memory
    tip_times: list[float] = []
    duplicates = losses = 0
    for n in range(args.recipients):
        tips = [
            a.at for a in emu.chats[FIRST_ID + n].actions if a.kind == "send" and is_tip(a.message)
        ]
        tip_times += tips
        duplicates += len(tips) > 1
        losses += not tips
    tip_times.sort()
    first, last = tip_times[0], tip_times[-1]
    tip_rate = (len(tip_times) - 1) / (last - first)
    flood_replies = [
        sum(1 for a in emu.chats[u.id].actions if a.kind == "send" and first <= a.at <= last)
        for u in flooders
    ]
    notes = [
        sum(1 for m in u.bot_messages() if "faster than I can answer" in (m.text or ""))
        for u in flooders
    ]
    during = tally.during(first, last)
    p50, p99 = (percentile(during, p) * 1000 for p in (50, 99))
    minutes = (last - first) / 60
    print(f"  {report.shown_text.splitlines()[0][:100]} ({elapsed:.0f} s after Send now)")
    print(f"  tips sent                         {len(tip_times)} of {args.recipients}")
    print(f"  tip rate                          {tip_rate:.2f}/s = {share(tip_rate)} of budget")
    print(f"  duplicates / losses               {duplicates} / {losses}")
    print(f"  429 answers                       {sum(1 for e in emu.errors if e.code == 429)}")
    print(f"  other refused calls               {sum(1 for e in emu.errors if e.code != 429)}")
    kinds = {FLOODER_ID: "flooder", CALM_ID: "calm", FIRST_ID: "recipient"}
    where = Counter(
        f"{e.method} to a "
        + next(
            (
                k
                for base, k in kinds.items()
                if 0 <= int(e.params.get("chat_id", -1)) - base < 10**5
            ),
            "other",
        )
        for e in emu.errors
        if e.code == 429
    )
    for place, count in where.most_common():
        print(f"    429: {place}: {count}")
    print(f"  flooders: messages sent           {sum(sent[: len(flooders)])}")
    print(
        f"  flooders: replies during the tip  {sum(flood_replies)} "
        f"({sum(flood_replies) / max(len(flooders), 1) / max(minutes, 1e-9):.1f} a minute each)"
    )
    print(f"  flooders: 'slow down' notes       {min(notes)} to {max(notes)} each")
    print(f"  calm clients: replies             {len(during)} ({tally.unanswered} unanswered)")
    print(f"  calm clients: p50 / p99           {p50:.0f} / {p99:.0f} ms")
    print(
        f"  bot memory (RSS)                  {start_rss:.1f} MB before, "
        f"{max(rss):.1f} MB peak, {rss[-1]:.1f} MB at the end"
    )
    print("targets:")
    print(f"  tips >= 60% of the budget         {'✓' if tip_rate >= 0.6 * SEND_RATE else '✗'}")
    print(
        f"  calm p99 < 1000 ms                {'✓' if p99 < 1000 and not tally.unanswered else '✗'}"
    )
    print(f"  no duplicates or losses           {'✓' if not duplicates and not losses else '✗'}")
    print(f"  memory flat (peak < start + 30 MB) {'✓' if max(rss) < start_rss + 30 else '✗'}")


if __name__ == "__main__":
    run(main())
