"""`bmx-bot sandbox`: the terminal chat drives the real bot; typed numbers press buttons."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.sandbox.chat import run_sandbox
from tests.conftest import make_settings


async def chat(lines: list[str], database_url: str) -> str:
    reader = asyncio.StreamReader()
    out = io.StringIO()
    task = asyncio.create_task(
        run_sandbox(make_settings(), database_url=database_url, lines=reader, out=out)
    )
    for line in lines:
        await _read(out)
        reader.feed_data((line + "\n").encode())
    reader.feed_eof()
    await asyncio.wait_for(task, 60)
    return out.getvalue()


async def _read(out: io.StringIO, quiet: float = 0.5, at_most: float = 10.0) -> None:
    """Type the next line as a person does: once the bot's answer has stopped coming (nothing
    new for `quiet` seconds). A fixed pause raced the bot on a busy machine: a number typed
    between "asked again below" and the question itself found no buttons to press."""
    deadline = time.monotonic() + at_most
    seen = None
    while seen != out.getvalue() and time.monotonic() < deadline:
        seen = out.getvalue()
        await asyncio.sleep(quiet)


async def test_terminal_chat_through_consent_and_questions(database_url: str) -> None:
    output = await chat(
        [
            "/start",
            "1",
            "1",
            "hello there",
            "4",
            ":sticker",
            "99",
            ":forge nonsense",
            ":staff",
            "/help",
            ":me",
            "/cancel",
            ":quit",
        ],
        database_url,
    )
    assert "I'm the BodyMechanix assistant" in output
    assert "[1] ✅ Yes, I agree" in output
    assert "Tips from the clinic" in output
    assert "Question 1 of 21" in output
    assert "Please use the buttons" in output
    assert "Question 2 of 21" in output
    assert "has buttons 1 to" in output  # 99 is not a button
    assert "pop-up: This button is out of date" in output
    assert "You are on the clinic's staff list." in output
    assert "Stopped." in output


def test_sandbox_starts_from_make_run_without_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        input="/start\n:quit\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "starting the offline sandbox" in result.stderr
    assert "Send /start to begin." in result.stdout
    assert (tmp_path / "var" / "sandbox.log").exists()
    assert (tmp_path / "var" / "sandbox.db").exists()
    assert not (tmp_path / "var" / "bmx.db").exists(), "the real database is never touched"
