"""No client's words, answers or name in any log line, at any level, and no one's Telegram id
at INFO and above: the log outlives /delete and retention. The real bot at DEBUG, with every
library as chatty as it goes, through a whole screening, a hand-off both ways and a failing
transaction; and at INFO through the flows whose log lines used to name the client."""

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
from tests.conftest import STAFF_CHAT_ID, STAFF_ID
from tests.flows import answer_all, execute, settled, start_and_consent

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


async def test_no_telegram_id_in_the_log_at_info(
    settings: Settings, emulator: BotApiEmulator
) -> None:
    """Blocking and unblocking the bot, a 429 on a reply, a failing update and its apology:
    each is logged, none with the client's id (nor a staff member's)."""
    client = SimUser(emulator, 730_519_246, NAME)
    buffer = io.StringIO()
    setup_logging("INFO", settings.token)
    logging.getLogger().handlers[0].setStream(buffer)  # type: ignore[attr-defined]

    async def logged(words: str) -> None:
        assert await settled(emulator, lambda: words in buffer.getvalue()), words

    try:
        async with RunningBot(settings, poll_timeout=1.0) as bot:
            await start_and_consent(client)
            await client.block()
            await logged(" blocked the bot")
            await client.unblock()
            await logged("unblocked the bot")
            emulator.faults.inject("limit", "sendMessage", retry_after=1)
            await client.send("/help")
            await client.expect("What I can do", timeout=10)
            await logged("Telegram asked to slow down")
            await execute(bot, text("DROP TABLE answer"))
            await client.tap("None of these")
            await client.expect("Sorry, something went wrong")
            await logged("handling update")
    finally:
        logging.getLogger().handlers.clear()
        logging.getLogger().setLevel(logging.WARNING)
    assert emulator.faults.injected == [("sendMessage", "limit")]
    log = buffer.getvalue()
    for secret in (str(client.id), str(STAFF_ID)):
        assert secret not in log, f"{secret} reached the log:\n{log}"
