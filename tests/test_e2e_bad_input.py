"""Bad input gets a clear answer and loses nothing; faults don't stop the bot.

The `emulator` fixture also checks, after every test here, that Telegram (the emulator)
refused nothing the bot sent and that every button press was answered.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from sqlalchemy import text

from bot.logs import setup_logging
from bot.processor import PerChatUpdateProcessor
from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator, Message
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs.render import labels
from storage.models import Answer, Client
from tests.flows import answer, answer_all, answered, execute, rows, start_and_consent

MOVED = "asked this question again below"


async def answers(bot: RunningBot) -> list[tuple[str, str]]:
    return [(a.question_id, a.option_id) for a in await rows(bot, Answer, Answer.position)]


def live_questions(user: SimUser) -> list[Message]:
    """The bot's messages in the chat that still carry a screening answer's buttons."""
    return [
        m
        for m in user.bot_messages()
        if any(str(b.get("callback_data", "")).startswith("a:") for b in m.flat_buttons)
    ]


def assert_one_live_copy(user: SimUser, newest: Message) -> None:
    """Exactly one message with the question's buttons: the newest copy; older copies say
    the question is asked again below and have no buttons."""
    assert [m.message_id for m in live_questions(user)] == [newest.message_id]
    assert newest.message_id == user.last_message.message_id
    for older in user.bot_messages():
        if older.message_id != newest.message_id and MOVED in older.shown_text:
            assert not older.flat_buttons


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "location", "contact", "document"])
async def test_media_where_a_button_is_expected(bot: RunningBot, alice: SimUser, kind: str) -> None:
    await start_and_consent(alice)
    question = await answer(alice, "rf_nerves", "no")
    await alice.send_media(kind, caption="<b>look</b> & see" if kind == "photo" else None)
    if kind == "photo":  # a caption is typed text
        again = await alice.expect("Please use the buttons")
        assert "stickers" not in again.shown_text
    else:
        again = await alice.expect("I can't use stickers, photos, voice messages or files here")
        assert "tap one of the buttons under the question" in again.shown_text
        assert "typed answers" not in again.shown_text
    assert "Question 2 of 21" in again.text
    assert again.flat_buttons, "the same question comes again, with its buttons"
    assert again.message_id != question.message_id
    assert MOVED in question.shown_text and not question.flat_buttons, "the older copy is off"
    assert_one_live_copy(alice, again)
    assert await answers(bot) == [("rf_nerves", "no")]
    await answer(alice, "rf_legs", "no")
    assert await answers(bot) == [("rf_nerves", "no"), ("rf_legs", "no")]
    assert_one_live_copy(alice, again)  # answered in place: still the one copy


async def test_free_text_long_text_edits_and_unknown_commands(
    bot: RunningBot, alice: SimUser
) -> None:
    await start_and_consent(alice)
    for attempt in ("yes", "x" * 10_000, "<b>bold?</b> & <3", "/teleport"):
        sent = await alice.send(attempt)
        again = await alice.expect("Please use the buttons")
        assert "Question 1 of 21" in again.text
        assert_one_live_copy(alice, again)
    await alice.edit(sent, "/start")
    again = await alice.expect("Please use the buttons")
    assert "Question 1 of 21" in again.text
    assert_one_live_copy(alice, again)
    moved = [m for m in alice.bot_messages() if MOVED in m.shown_text]
    assert len(moved) == 5, "the first question and four reminders, each moved below"
    assert await answers(bot) == []


async def test_one_live_copy_after_start_mid_screening(bot: RunningBot, alice: SimUser) -> None:
    await start_and_consent(alice)
    await answer(alice, "rf_nerves", "no")
    question = await answer(alice, "rf_legs", "no")
    await alice.send("/start")
    prompt = await alice.expect("part-way through")
    assert live_questions(alice) == [question], "until they choose, the question stays as it was"
    await alice.tap(labels.resume, message=prompt)
    resumed = await alice.expect("Question 3 of 21")
    assert resumed.message_id == prompt.message_id
    assert MOVED in question.shown_text and not question.flat_buttons
    assert_one_live_copy(alice, resumed)
    await alice.send_media("sticker")
    again = await alice.expect("I can't use stickers")
    assert_one_live_copy(alice, again)
    await alice.send("/start")
    prompt = await alice.expect("part-way through")
    await alice.tap(labels.start_over, message=prompt)
    fresh = await alice.expect("Question 1 of 21")
    assert_one_live_copy(alice, fresh)
    await alice.send("/start")  # nothing answered yet: no "part-way (0 of 21)", the question
    fresh = await alice.expect("Question 1 of 21")
    assert "Welcome back, Alice" in fresh.shown_text and "part-way" not in fresh.shown_text
    assert_one_live_copy(alice, fresh)
    await alice.send("/cancel")
    await alice.expect("Stopped")
    stopped = await alice.expect("Question 1 of 21")  # then its buttons go, words kept
    assert stopped.message_id == fresh.message_id and not stopped.flat_buttons
    assert live_questions(alice) == [], "a stopped self-check leaves no live question"


async def test_free_text_before_start_and_during_consent(bot: RunningBot, alice: SimUser) -> None:
    await alice.send("hello??")
    await alice.expect("I'm the BodyMechanix assistant")
    await alice.expect("Before the self-check")
    await alice.send_media("sticker")
    again = await alice.expect("I can't use stickers")
    assert "Before the self-check" in again.text and again.flat_buttons


async def test_names_full_of_markup_and_emoji(bot: RunningBot, emulator: BotApiEmulator) -> None:
    mallory = SimUser(emulator, 6001, "<b>Mal</b> & <3 😈" + "🦵" * 20, username="mal")
    await start_and_consent(mallory)
    welcome = mallory.bot_messages()[0]
    assert "<b>Mal</b> & <3 😈" in welcome.text
    result = await answer_all(mallory)
    assert "Your self-check result" in result.shown_text


async def test_stale_buttons_change_nothing(bot: RunningBot, alice: SimUser) -> None:
    first_copy = await start_and_consent(alice)
    old_data = {b["text"]: b["callback_data"] for b in first_copy.flat_buttons}
    await alice.send("typing instead")
    second_copy = await alice.expect("Please use the buttons")
    assert "Question 1 of 21" in second_copy.text
    assert not first_copy.flat_buttons, "the older copy lost its buttons"
    assert MOVED in first_copy.shown_text and "Question 1 of 21" not in first_copy.shown_text
    assert [b["text"] for b in second_copy.flat_buttons] == list(old_data)
    assert_one_live_copy(alice, second_copy)
    await alice.tap("None of these", message=second_copy)
    await alice.expect("Question 2 of 21")
    # A press on the old copy as an old app might still show it: out of date, nothing changes.
    query = await alice.tap_data(first_copy, old_data["Numbness between my legs"])
    assert await answered(alice, query) == {"text": labels.stale}
    await alice.expect_silence(0.4)
    assert await answers(bot) == [("rf_nerves", "no")]

    result = await answer_all(alice)
    assert "Your self-check result" in result.shown_text
    assert live_questions(alice) == [], "the result replaced the only live copy"
    before = await answers(bot)
    query = await alice.tap_data(first_copy, old_data["None of these"])  # a finished one's
    assert await answered(alice, query) == {"text": labels.stale}
    await alice.expect_silence(0.4)
    assert await answers(bot) == before


@pytest.mark.parametrize(
    "data",
    [
        "garbage",
        "a:nokey:rf_nerves:saddle",
        "a:" + "k" * 62,
        "d:y:999999",
        "p:h:1",
        "h:yes",
        "n",
        "c:h:1",
    ],
)
async def test_forged_button_data(bot: RunningBot, alice: SimUser, data: str) -> None:
    await start_and_consent(alice)
    message = alice.last_message
    query = await alice.tap_data(message, data)
    await answered(alice, query)
    await alice.expect_silence(0.4)
    assert await answers(bot) == []
    await answer(alice, "rf_nerves", "no")  # still works normally afterwards


async def test_buttons_after_delete_do_not_bring_the_client_back(
    bot: RunningBot, alice: SimUser
) -> None:
    question = await start_and_consent(alice)
    await alice.send("/delete")
    await alice.expect("Delete everything?")
    await alice.tap(labels.delete_yes)
    await alice.expect("everything I stored about you has been deleted")
    query = await alice.tap("None of these", message=question)
    assert await answered(alice, query) == {"text": labels.stale}
    await alice.expect_silence(0.4)
    assert await rows(bot, Client) == []


async def test_a_failing_handler_apologises_and_others_keep_going(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    await start_and_consent(alice)
    await answer(alice, "rf_nerves", "no")
    await execute(bot, text("DROP TABLE event"))  # a real fault: a table goes missing
    bob = SimUser(emulator, 6002, "Bob")
    with caplog.at_level(logging.ERROR):
        await bob.send("/start")
        await bob.expect("Sorry, something went wrong")
    failed = [r.getMessage() for r in caplog.records if "handling update" in r.getMessage()]
    assert failed, "the failure is logged"
    assert not [line for line in failed if "6002" in line], "without who sent the update"
    message = await answer(alice, "rf_legs", "no")  # Alice is unaffected
    assert "Question 3 of 21" in message.shown_text


async def test_the_token_never_reaches_the_log(
    settings: Settings, emulator: BotApiEmulator, alice: SimUser
) -> None:
    buffer = io.StringIO()
    setup_logging("DEBUG", settings.token)
    logging.getLogger().handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    chatty = [logging.getLogger(name) for name in ("aiohttp", "httpx", "telegram")]
    levels = [logger.level for logger in chatty]
    for logger in chatty:  # as chatty as they go
        logger.setLevel(logging.DEBUG)
    url = f"{settings.bot_api_url}/bot{settings.token}/getMe"
    try:
        async with RunningBot(settings, poll_timeout=1.0):
            await start_and_consent(alice)
            await answer(alice, "rf_nerves", "no")
            logging.getLogger("test").info("request to %s", url)
            try:
                raise ConnectionError(f"cannot connect to {url}")
            except ConnectionError:
                logging.getLogger("test").exception("failed")
    finally:
        logging.getLogger().handlers.clear()
        logging.getLogger().setLevel(logging.WARNING)
        for logger, level in zip(chatty, levels, strict=True):
            logger.setLevel(level)
    log = buffer.getvalue()
    assert "getUpdates" in log and "cannot connect to" in log, "the log really was written"
    assert settings.token not in log
    assert settings.token.split(":")[1] not in log


async def test_a_flood_from_one_client_does_not_hold_up_others(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice)
    for _ in range(60):
        await alice.send_media("sticker")
    bob = SimUser(emulator, 6003, "Bob")
    processor = bot.app.update_processor
    assert isinstance(processor, PerChatUpdateProcessor)
    waiting: list[int] = []  # Alice's updates not yet handled, as each reply to Bob goes out

    def on_call(method: str, params: dict[str, Any]) -> None:
        if method == "sendMessage" and str(params.get("chat_id")) == str(bob.id):
            waiting.append(processor.backlog(alice.id))

    emulator.on_call = on_call
    try:
        await bob.send("/start")
        await bob.expect("Before the self-check")
    finally:
        emulator.on_call = None
    assert waiting and waiting[0] > 0, "Bob was answered before Alice's stickers were through"
    await alice.settle(quiet=1.5)  # let her queue drain
    copies = [m for m in alice.bot_messages() if "stickers" in m.text or MOVED in m.text]
    # A reminder or two for the burst at most, not one per sticker (none if the throttle
    # took the last one), each moving the question below: only the newest keeps the buttons.
    assert len(copies) in (0, 2, 3), [m.text[:40] for m in copies]
    assert len(live_questions(alice)) == 1
    slow_down = [m for m in alice.bot_messages() if "faster than I can answer" in m.text]
    assert len(slow_down) == 1, "past the throttle: one note, then nothing"
    await alice.tap("None of these")  # the question's buttons still work
    await alice.expect("Question 2 of 21")


async def test_a_flooding_client_gets_one_slow_down_note_and_nothing_more(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice)
    before = len(alice.bot_messages())
    for n in range(40):
        await alice.send(f"spam {n}")
    await alice.settle(quiet=1.5)
    replies = [m.text or "" for m in alice.bot_messages()[before:]]
    assert sum("faster than I can answer" in t for t in replies) == 1, replies
    assert len(replies) <= 21, "a burst's worth of replies at most, not one per message"
    bob = SimUser(emulator, 6004, "Bob")
    await bob.send("/start")
    await bob.expect("Before the self-check")
    await answer(alice, "rf_nerves", "no")  # her buttons still work
    for n in range(15):  # staff are never throttled
        await staff.send(f"/help {n}")
    for _ in range(15):  # a chat gets about one message a second
        await staff.expect("What I can do", timeout=10)
    helps = [m for m in staff.bot_messages() if "What I can do" in (m.text or "")]
    assert len(helps) == 15
    assert not [m for m in staff.bot_messages() if "faster than I can answer" in (m.text or "")]
