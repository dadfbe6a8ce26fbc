"""Benchmark: one, two and three replicas on one PostgreSQL behind a load balancer (webhooks).

    python -m bench.replicas [--recipients 2000] [--chatting 20] [--postgres [URL]]

For each count, a fresh schema holds the recipients (clients who said yes to tips); the
replicas (`python -m bot run` in webhook mode, each its own process) sit behind a round-robin
balancer (`bot.sandbox.balancer`) that the emulator posts updates to. A staff member sends a
tip to everyone while `--chatting` clients send /help at human pace (every 6 to 12 s).
Printed side by side, from what the emulator stored: the send rate as a share of the 30/s
budget (target: every count within it, with zero 429s: the replicas share one token),
duplicates and losses (target: zero), and the chatting clients' p99 (target: under 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from bench.broadcast import (
    STAFF_ID,
    Result,
    compose,
    measure,
    open_chats,
    seed,
    sending,
    table,
    targets,
)
from bench.harness import emulator, fresh_database, run
from bot.sandbox.balancer import Balancer, free_port
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.flood import FloodLimits
from bot.sandbox.users import SimUser

SECRET = "bench-replicas-secret_0123456789abcdef"  # WEBHOOK_SECRET: 32 or more
# Seconds between a chatting client's typed messages: within the per-client fairness limit
# (10 typed messages a minute after a burst of 12); faster typists get a "slow down" note,
# which is the limit working, not the replicas failing.
PACE = (6.0, 12.0)
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextlib.asynccontextmanager
async def replicas(emu: BotApiEmulator, count: int, database_url: str) -> AsyncIterator[None]:
    """`count` bot processes in webhook mode behind one balancer, answering."""
    ports = [free_port() for _ in range(count)]
    balancer = Balancer([f"http://127.0.0.1:{port}" for port in ports])
    await balancer.start()
    processes, logs = [], []
    with tempfile.TemporaryDirectory() as folder:
        try:
            for port in ports:
                environment = {
                    **os.environ,
                    "BOT_TOKEN": emu.token,
                    "BOT_API_URL": emu.base_url,
                    "DATABASE_URL": database_url,
                    "LOG_LEVEL": "WARNING",
                    "STAFF_IDS": str(STAFF_ID),
                    "WEBHOOK_URL": f"http://127.0.0.1:{balancer.port}/telegram",
                    "WEBHOOK_SECRET": SECRET,
                    "HTTP_LISTEN": f"127.0.0.1:{port}",
                }
                log = (Path(folder) / f"bot{port}.log").open("wb")
                logs.append(log)
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "bot", "run", cwd=folder, env=environment, stderr=log
                    )
                )
            probe = SimUser(emu, 999_999_999, "Probe")
            await probe.send("/start")
            await probe.next_action(timeout=90)
            yield
        finally:
            for process in processes:
                if process.returncode is None:
                    process.terminate()
            for process in processes:
                await asyncio.wait_for(process.wait(), 30)
            for log in logs:
                log.close()
            await balancer.stop()


async def one_run(count: int, recipients: int, chatting: int, postgres: str) -> Result:
    result = Result(f"{count} replica{'s' if count > 1 else ''}", recipients)
    async with emulator(FloodLimits()) as emu:
        open_chats(emu, recipients)
        staff = SimUser(emu, STAFF_ID, "Sam")
        with tempfile.TemporaryDirectory() as folder, fresh_database(postgres, folder) as url:
            seed(url, recipients)
            async with replicas(emu, count, url):
                panel = await compose(staff)
                await measure(emu, result, chatting, sending(staff, panel, result), PACE)
    print(f"  {result.name}: {result.note}", flush=True)
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--chatting", type=int, default=20)
    parser.add_argument("--postgres", nargs="?", const=POSTGRES, default=POSTGRES)
    args = parser.parse_args()
    print(
        f"replicas benchmark: a tip to {args.recipients} clients through 1, 2 and 3 replicas on "
        f"PostgreSQL (webhooks behind a balancer), flood limits on (30/s overall, 1/s per "
        f"chat), {args.chatting} clients chatting at human pace (a message every 6 to 12 s)",
        flush=True,
    )
    results = [
        await one_run(count, args.recipients, args.chatting, args.postgres) for count in (1, 2, 3)
    ]
    print("\n".join(table(results) + targets(results)))


if __name__ == "__main__":
    run(main())
