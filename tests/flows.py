"""Steps a person takes, shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import resource
import sys
import time
from asyncio.subprocess import Process
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator, CallbackQuery, Message
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs.questionnaire import Question, load_questionnaire
from dialogs.render import labels
from dialogs.safety import TIER_A_LIFT_WAIT
from storage.db import Database, upgrade
from storage.models import Client, utcnow

Q = load_questionnaire()
LABELS = {q.id: {o.id: o.label for o in q.options} for q in Q.questions}

# A typical office worker with lazy glutes and back pain for a month.
TYPICAL = {
    "sitting": "8_11",
    "stairs": "back",
    "chair": "pull",
    "stiffness": "often",
    "back_tires": "sometimes",
    "squats": "thighs",
    "duration": "lt6w",
    "severity": "6",
    "spread": "no",
    "onset": "20_44",
}


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any of the bot's settings, plus `values`: for
    starting `bmx-bot` as a separate process that reads only what a test gives it."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env.update(values)
    return env


async def bot_process(
    cwd: Path,
    *,
    capture: bool = False,
    log: Path | None = None,
    open_files: int | None = None,
    **values: str,
) -> Process:
    """`python -m bot run` as a process of its own (for exit codes, SIGTERM and SIGKILL),
    reading only `values` from its environment; `capture` pipes its output to the test, `log`
    writes it to that file instead; `open_files` caps its file descriptors (RLIMIT_NOFILE)."""
    output: Any = asyncio.subprocess.PIPE if capture else asyncio.subprocess.DEVNULL

    def limit_files() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    with contextlib.ExitStack() as files:
        if log is not None:
            output = files.enter_context(log.open("ab"))  # the process keeps its own copy
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=cwd,
            env=clean_env(**values),
            stdout=output,
            stderr=output,
            preexec_fn=limit_files if open_files is not None else None,
        )


async def ready(emulator: BotApiEmulator, timeout: float = 30.0) -> None:
    """Wait until a bot just started as a process answers (imports and migrations take a few
    seconds on a busy machine); a probe user of its own, so no test user's chat changes."""
    probe = SimUser(emulator, 999_999_998, "Probe")
    await probe.send("/help")
    await probe.expect("What I can do", timeout=timeout)


async def settled(
    emulator: BotApiEmulator,
    done: Callable[[], bool | Awaitable[bool]],
    patience: float = 10.0,
) -> bool:
    """Wait while `done()` (plain or async: a look at the database) is false and the bot is
    still at work, at most `patience` seconds: for an outcome a background job, or the bot's
    bookkeeping right after a send, may be bringing about at the same moment as the test.
    Whether it came true."""
    deadline = time.monotonic() + patience
    while True:
        result = done()
        if inspect.isawaitable(result):
            result = await result
        if result or time.monotonic() >= deadline:
            return bool(result)
        await emulator.changed(0.2)


async def start_and_consent(
    user: SimUser, *, health: bool = True, tips: bool = True, source: str | None = None
) -> Message:
    """/start (from a deep link with `source`), both consents; returns the first question
    (or the no-consent info)."""
    await user.send(f"/start {source}" if source else "/start")
    await user.expect("Before the self-check")
    await user.tap(labels.agree if health else labels.decline)
    await user.expect("Tips from the clinic")
    await user.tap(labels.tips_yes if tips else labels.tips_no)
    return await user.expect("Question 1 of" if health else "nothing about it is stored")


async def doctor_has_checked(user: SimUser, message: Message | None = None) -> Message:
    """ "A doctor has checked me", who (their GP) and when (today): the hold lifts."""
    await user.tap(labels.doctor_checked, message=message)
    await user.expect("Who checked you?")
    await user.tap(labels.check_gp)
    await user.expect("When was that?")
    await user.tap(labels.check_when_today)
    return await user.expect("glad you've been checked")


async def first_hours_over(bot: RunningBot) -> None:
    """Tier A holds began long enough ago that a doctor's check may be told."""
    earlier = bot.services.clock() - TIER_A_LIFT_WAIT - timedelta(minutes=1)
    await execute(
        bot, update(Client).where(col(Client.safety_tier) == "A").values(safety_at=earlier)
    )


async def answer(user: SimUser, question_id: str, option_id: str) -> Message:
    """Tap the option's button and wait for the bot's next step."""
    await user.tap(LABELS[question_id][option_id])
    return (await user.next_action()).message


async def answered(user: SimUser, query: CallbackQuery, timeout: float = 5.0) -> dict[str, Any]:
    """How the bot answered a button press (its text, show_alert...; {} for a bare answer):
    waits for the answer itself, not for a set time, and fails if none ever came."""
    deadline = time.monotonic() + timeout
    while query.answered_at is None and time.monotonic() < deadline:
        await user.emulator.changed(0.2)
    assert query.answered_at is not None, f"the bot never answered the press {query.id}"
    return query.answer or {}


def safe_option(question: Question) -> str:
    """The answer that raises nothing: 'no' to a red-flag gate or a contraindication, else
    the first option."""
    safe_no = question.gate or any(o.contra for o in question.options)
    return "no" if safe_no else question.options[0].id


async def answer_all(user: SimUser, chosen: dict[str, str] = TYPICAL) -> Message:
    """Answer from the current question to the end: `chosen`, else 'no' to the gates and the
    contraindications and the first option to the rest. Returns the message the bot ends with."""
    message = user.last_message
    while "Question" in message.shown_text:
        question = next(q for q in Q.questions if q.text.split("\n")[0] in message.html)  # type: ignore[operator]
        option = chosen.get(question.id, safe_option(question))
        message = await answer(user, question.id, option)
    return message


async def rows(bot: RunningBot, model: type, *order_by: object) -> list:  # type: ignore[type-arg]
    """Every row of a table, as the bot's own database sees it now."""
    statement = select(model).order_by(*order_by) if order_by else select(model)
    return await bot.services.db.run(lambda s: list(s.exec(statement).all()))


async def execute(bot: RunningBot, statement: object) -> None:
    """Run a raw statement (an UPDATE, a DROP...) in the bot's database."""
    await bot.services.db.run(lambda s: s.execute(statement))  # type: ignore[arg-type]


def seed_clients(
    database_url: str, emulator: BotApiEmulator, count: int, *, first_id: int = 900_000
) -> list[SimUser]:
    """`count` clients who said yes to tips, stored as the bot would have them, each with an
    open chat in the emulator: many recipients without chatting through each /start."""
    upgrade(database_url)
    db = Database(database_url)
    try:
        with db.session() as session:
            session.add_all(
                Client(
                    telegram_id=first_id + i,
                    chat_id=first_id + i,
                    first_name=f"Client {i}",
                    stage="idle",
                    tips_consent=True,
                    tips_consent_at=utcnow(),
                )
                for i in range(count)
            )
    finally:
        db.engine.dispose()
    users = [SimUser(emulator, first_id + i, f"Client {i}") for i in range(count)]
    for user in users:
        user.chat.started = True
    return users


def png_size(content: bytes | None) -> tuple[int, int]:
    """The width and height of an uploaded PNG (its IHDR chunk); fails if it is none."""
    assert content is not None, "nothing was uploaded"
    assert content[:8] == b"\x89PNG\r\n\x1a\n" and content[12:16] == b"IHDR", "not a PNG"
    return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
