"""Benchmark: N clients through the whole screening at once, against the emulator.

    python -m bench.screening [--clients 200] [--runs 3]

Two loads, kept apart as ../shared/docs/benchmarks.md asks:
- throughput (closed loop): every client acts again as soon as it has the bot's answer. It
  gives updates per second and the bot's CPU seconds per update, and, measured side by side
  in the same run, the same figures for a bare python-telegram-bot echo bot (sequential
  updates, no rate limiter, no database) and the ratio of the two throughputs;
- experience (human pace): every client waits 1 to 3 seconds before each tap, the first
  one (/start) included, as a person does. It gives p50 and p99 from a client's action to
  the bot's answer.
The emulator's flood limits are off; the bot's own send budget (SEND_RATE) is raised to 1000/s
so that Telegram's budget, a separate limit, does not stand in for the bot's capacity.
The bot runs in its own process (`python -m bot run`) with a fresh SQLite database, or with
`--postgres [URL]` a fresh schema in PostgreSQL.
Every bot run also counts the database statements and transactions each update costs
(`storage.statements`: BMX_STATEMENT_LOG makes the bot write them to a file as it exits); the
figures printed are per update, in all, and by kind of update (/start, each consent press, an
answer press, the last answer, which brings the result), with which statements each runs;
on PostgreSQL also the CPU its server spends per update (the bot's backends only).
Targets: the echo bot's throughput on SQLite (ratio 1.0), 0.8 of it on PostgreSQL, with all the
database work counted; p99 under 250 ms at 200 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import (
    PROBE_ID,
    ROOT,
    add_postgres_option,
    bot_process,
    emulator,
    median,
    percentile,
    run,
)
from bot.sandbox.emulator import BotApiEmulator, Message
from bot.sandbox.flood import FloodLimits
from bot.sandbox.users import SimUser
from dialogs.questionnaire import load_questionnaire
from dialogs.render import labels
from storage import statements

Q = load_questionnaire()
ECHO_MESSAGES = 20
FIRST_CLIENT = 100_000
# A client's updates, in the order `screening_client` sends them; any after these are answers,
# the last of them the one that brings the result.
KINDS = ("/start", "health consent press", "tips consent press")
ANSWER, RESULT = "answer press", "last answer (result)"


@dataclass
class Tally:
    actions: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass
class Work:
    """The database work of the clients' updates (the start-up probe's left out), by kind."""

    updates: Counter[str] = field(default_factory=Counter)  # kind -> how many
    statements: dict[str, Counter[str]] = field(default_factory=dict)  # kind -> name -> count
    transactions: Counter[str] = field(default_factory=Counter)  # kind -> count
    background: Counter[str] = field(default_factory=Counter)  # outside updates: jobs, start-up

    def add(self, log: Path) -> None:
        """The tallies a bot process wrote as it exited (`storage.statements`)."""
        data = json.loads(log.read_text())
        by_chat: dict[int, list[dict]] = {}
        for entry in data["updates"]:
            if entry["chat"] is not None and FIRST_CLIENT <= entry["chat"] != PROBE_ID:
                by_chat.setdefault(entry["chat"], []).append(entry)
        for entries in by_chat.values():
            for n, entry in enumerate(entries):
                kind = KINDS[n] if n < len(KINDS) else RESULT if n == len(entries) - 1 else ANSWER
                self.updates[kind] += 1
                self.statements.setdefault(kind, Counter()).update(entry["statements"])
                self.transactions[kind] += entry["transactions"]
        self.background.update(data["background"]["statements"])

    def merge(self, other: Work) -> None:
        self.updates.update(other.updates)
        for kind, counts in other.statements.items():
            self.statements.setdefault(kind, Counter()).update(counts)
        self.transactions.update(other.transactions)
        self.background.update(other.background)

    def per_update(self) -> tuple[float, float]:
        """(statements, transactions) per update, over every kind."""
        updates = sum(self.updates.values()) or 1
        total = sum(sum(c.values()) for c in self.statements.values())
        return total / updates, sum(self.transactions.values()) / updates

    def lines(self) -> list[str]:
        out = []
        for kind in (*KINDS, ANSWER, RESULT):
            n = self.updates[kind]
            if not n:
                continue
            counts = self.statements.get(kind, Counter())
            each = ", ".join(
                f"{name} {c / n:.3g}" for name, c in sorted(counts.items(), key=lambda i: -i[1])
            )
            out.append(
                f"  {kind:<24}{sum(counts.values()) / n:5.2f} statements, "
                f"{self.transactions[kind] / n:4.2f} transactions: {each}"
            )
        background = ", ".join(f"{name} {c}" for name, c in self.background.most_common())
        out.append(f"  outside updates (jobs, start-up; in all): {background or 'none'}")
        return out


@asynccontextmanager
async def counted_bot(emu: BotApiEmulator, postgres: str | None, work: Work):  # type: ignore[no-untyped-def]
    """The real bot, counting its statements into `work` once it has stopped."""
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "statements.json"
        env = {"SEND_RATE": "1000", statements.ENV: str(log)}
        async with bot_process(emu, ["bot", "run"], postgres, **env) as bot:
            yield bot
        if log.exists():
            work.add(log)


def _has_callback_buttons(message: Message) -> bool:
    return any("callback_data" in b for b in message.flat_buttons)


async def _act(user: SimUser, tally: Tally, action) -> Message:  # type: ignore[no-untyped-def]
    """Do one thing; record the time to the bot's first answer; return the message that
    carries the next step's buttons."""
    await action()
    started = user.acted_at
    first = await user.next_action(timeout=60)
    tally.actions += 1
    tally.latencies.append(first.at - started)
    message = first.message
    while not _has_callback_buttons(message):
        message = (await user.next_action(timeout=60)).message
    return message


async def screening_client(user: SimUser, tally: Tally, pace: tuple[float, float] | None) -> None:
    """/start, both consents, every question (safety gates 'no', the rest at random)."""
    rng = random.Random(user.id)

    async def pause() -> None:
        if pace:
            await asyncio.sleep(rng.uniform(*pace))

    await pause()
    message = await _act(user, tally, lambda: user.send("/start"))
    await pause()
    message = await _act(user, tally, lambda: user.tap(labels.agree, message=message))
    await pause()
    message = await _act(user, tally, lambda: user.tap(labels.tips_yes, message=message))
    while True:
        data = next(b["callback_data"] for b in message.flat_buttons if "callback_data" in b)
        if not data.startswith("a:"):
            return  # the result: its buttons are booking links and "talk to a therapist"
        question = Q.by_id[data.split(":")[2]]
        safe = [o for o in question.options if not o.red_flag]
        option = rng.choice(safe)
        await pause()
        message = await _act(user, tally, lambda: user.tap(option.label, message=message))  # noqa: B023


async def echo_client(user: SimUser, tally: Tally) -> None:
    for n in range(ECHO_MESSAGES):
        await user.send(f"hello {n}")
        started = user.acted_at
        answer = await user.next_action(timeout=60)
        tally.actions += 1
        tally.latencies.append(answer.at - started)


def _users(emu: BotApiEmulator, count: int) -> list[SimUser]:
    return [SimUser(emu, FIRST_CLIENT + i, f"Client{i}") for i in range(count)]


async def throughput_bmx(
    clients: int, postgres: str | None, work: Work
) -> tuple[float, float, float]:
    """The real bot, closed loop: updates per second, and CPU seconds per update of the bot
    and of the PostgreSQL backends serving it (0 on SQLite, which runs inside the bot)."""
    async with emulator(FloodLimits(enabled=False)) as emu:
        async with counted_bot(emu, postgres, work) as bot:
            tally = Tally()
            users = _users(emu, clients)
            cpu, server_cpu, started = bot.cpu_seconds(), bot.server_cpu(), time.monotonic()
            await asyncio.gather(*(screening_client(u, tally, None) for u in users))
            elapsed, cpu = time.monotonic() - started, bot.cpu_seconds() - cpu
            server_seconds = bot.server_cpu_since(server_cpu)
        assert not emu.errors, emu.errors[:3]
    return tally.actions / elapsed, cpu / tally.actions, server_seconds / tally.actions


async def throughput_echo(clients: int) -> tuple[float, float]:
    async with (
        emulator(FloodLimits(enabled=False)) as emu,
        bot_process(emu, ["bench.echo_bot"], PYTHONPATH=str(ROOT)) as bot,
    ):
        tally = Tally()
        users = _users(emu, clients)
        cpu, started = bot.cpu_seconds(), time.monotonic()
        await asyncio.gather(*(echo_client(u, tally) for u in users))
        elapsed, cpu = time.monotonic() - started, bot.cpu_seconds() - cpu
    return tally.actions / elapsed, cpu / tally.actions


async def experience(clients: int, postgres: str | None, work: Work) -> Tally:
    async with emulator(FloodLimits(enabled=False)) as emu:
        async with counted_bot(emu, postgres, work):
            tally = Tally()
            users = _users(emu, clients)
            await asyncio.gather(*(screening_client(u, tally, (1.0, 3.0)) for u in users))
        assert not emu.errors, emu.errors[:3]
        slow = emu.slow_answers(limit=1.0)
        assert not slow, f"{len(slow)} button presses answered after a second or never"
    return tally


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="throughput runs (median printed)")
    parser.add_argument("--human-runs", type=int, default=1, help="human-pace runs")
    add_postgres_option(parser)
    args = parser.parse_args()

    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"screening benchmark: {args.clients} clients, {database}, flood limits off")
    rates, cpus, server_cpus, echo_rates, echo_cpus, ratios = [], [], [], [], [], []
    work = Work()
    for number in range(1, args.runs + 1):
        run_work = Work()
        rate, cpu, server_cpu = await throughput_bmx(args.clients, args.postgres, run_work)
        work.merge(run_work)
        echo_rate, echo_cpu = await throughput_echo(args.clients)
        rates.append(rate)
        cpus.append(cpu)
        server_cpus.append(server_cpu)
        echo_rates.append(echo_rate)
        echo_cpus.append(echo_cpu)
        ratios.append(rate / echo_rate)
        print(
            f"  throughput run {number}: bot {rate:7.1f} updates/s ({cpu * 1000:.2f} ms CPU each"
            + (f", server {server_cpu * 1000:.2f} ms" if args.postgres else "")
            + ")"
            f" | echo bot {echo_rate:7.1f} updates/s ({echo_cpu * 1000:.2f} ms CPU each)"
            f" | ratio {rate / echo_rate:.2f}"
            f" | {run_work.per_update()[0]:.2f} statements per update"
        )
    latencies: list[float] = []
    for number in range(1, args.human_runs + 1):
        run_work = Work()
        tally = await experience(args.clients, args.postgres, run_work)
        work.merge(run_work)
        latencies += tally.latencies
        print(
            f"  human-pace run {number}: {tally.actions} actions, "
            f"p50 {percentile(tally.latencies, 50) * 1000:.1f} ms, "
            f"p99 {percentile(tally.latencies, 99) * 1000:.1f} ms"
            f" | {run_work.per_update()[0]:.2f} statements per update"
        )
    p99 = percentile(latencies, 99) * 1000
    print(f"results (median of {args.runs} throughput runs, {args.human_runs} human-pace runs):")
    print(f"  bot throughput          {median(rates):8.1f} updates/s (closed loop)")
    print(f"  bot CPU per update      {median(cpus) * 1000:8.2f} ms")
    if args.postgres:
        print(
            f"  PostgreSQL CPU / update {median(server_cpus) * 1000:8.2f} ms (the bot's backends)"
        )
    print(f"  echo bot throughput     {median(echo_rates):8.1f} updates/s")
    print(f"  echo bot CPU per update {median(echo_cpus) * 1000:8.2f} ms")
    target = 0.8 if args.postgres else 1.0
    print(f"  throughput ratio        {median(ratios):8.2f}  (target >= {target:.2f})")
    print(f"  action -> answer p50    {percentile(latencies, 50) * 1000:8.1f} ms (human pace)")
    print(f"  action -> answer p99    {p99:8.1f} ms  (target < 250 ms)")
    per_update, transactions = work.per_update()
    print(
        f"  statements per update   {per_update:8.2f}  (every run, {transactions:.2f} transactions)"
    )
    print("database work per update, by kind (every run):")
    for line in work.lines():
        print(line)


if __name__ == "__main__":
    run(main())
