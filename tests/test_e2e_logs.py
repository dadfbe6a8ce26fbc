"""No client's words, answers or name in any log line, at any level: the log outlives /delete
and retention. The real bot at DEBUG, with every library as chatty as it goes, through a
whole screening, a hand-off both ways and a failing transaction."""

from __future__ import annotations

import io
import logging

from sqlalchemy import text

from bot.logs import setup_logging
from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs.render import labels
from tests.conftest import STAFF_CHAT_ID
from tests.flows import answer_all, execute, start_and_consent

NAME, USERNAME = "Zephyrine", "zeph_quill"
SAID = "my xyzzy plugh secret"
STAFF_SAID = "frobozz appointment"
CHATTY = ("telegram", "aiohttp", "httpx", "httpcore", "sqlalchemy", "apscheduler", "bot", "storage")


async def test_no_words_answers_or_names_in_the_log_even_at_debug(
    settings: Settings, emulator: BotApiEmulator, staff: SimUser
) -> None:
    client = SimUser(emulator, 5011, NAME, username=USERNAME)
    buffer = io.StringIO()
    setup_logging("DEBUG", settings.token)
    logging.getLogger().handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    loggers = [logging.getLogger(name) for name in CHATTY]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        async with RunningBot(settings, poll_timeout=1.0) as bot:
            await start_and_consent(client)
            await answer_all(client, {"sitting": "12p", "severity": "7"})
            await client.send("/human")
            await client.expect("Shall I send it?")
            await client.tap(labels.handoff_send)
            await client.expect("A therapist will reply")
            await client.send(SAID)
            await client.expect("Passed on")
            group = emulator.chats[STAFF_CHAT_ID]
            relayed = await staff.expect("xyzzy", chat=group)
            await staff.send(STAFF_SAID, chat=group, reply_to=relayed)
            await client.expect("frobozz")
            # A failing transaction: the answers table goes missing mid-screening.
            await client.send("/start")
            await client.expect("Welcome back")
            await client.tap(labels.new_check)
            await client.expect("Question 1 of")
            await execute(bot, text("DROP TABLE answer"))
            await client.tap("None of these")
            await client.expect("Sorry, something went wrong")
            await client.settle(0.5)
    finally:
        logging.getLogger().handlers.clear()
        logging.getLogger().setLevel(logging.WARNING)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    log = buffer.getvalue()
    # The log really was written, at DEBUG, through all of it.
    for seen in ("sendMessage", "answerCallbackQuery", "handling update", "INSERT INTO answer"):
        assert seen in log, seen
    for secret in (NAME, USERNAME, "xyzzy", "frobozz", "rf_nerves", "'12p'", '"12p"', "'7'"):
        assert secret not in log, f"{secret!r} reached the log"
