"""What the benchmarks share: the emulator in this process, the bot in another, its CPU."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.flood import FloodLimits
from bot.sandbox.users import SimUser

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    ps: psutil.Process

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system


@asynccontextmanager
async def emulator(flood: FloodLimits) -> AsyncIterator[BotApiEmulator]:
    emu = BotApiEmulator(flood=flood)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@asynccontextmanager
async def bot_process(
    emu: BotApiEmulator, module: list[str], **env: str
) -> AsyncIterator[BotProcess]:
    """Start a bot (`python -m ...`) against the emulator and wait until it answers."""
    with tempfile.TemporaryDirectory() as folder:
        environment = {
            **os.environ,
            "BOT_TOKEN": emu.token,
            "BOT_API_URL": emu.base_url,
            "DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        log = Path(folder) / "bot.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", *module, cwd=folder, env=environment, stderr=stderr
            )
        try:
            probe = SimUser(emu, 999_999_999, "Probe")
            await probe.send("/start")
            try:
                await probe.next_action(timeout=60)
            except TimeoutError:
                raise SystemExit(f"the bot did not start: {log.read_text()[-2000:]}") from None
            yield BotProcess(process, psutil.Process(process.pid))
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()


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
