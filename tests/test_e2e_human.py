"""Hand-off to a person, blocking, end to end."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.cases.handoff import RELAY_MERGE
from bot.jobs import remove_expired_details
from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator, Message
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs.clinic import shipped_clinic
from dialogs.render import labels
from storage.models import Client, Event, Handoff, utcnow
from tests.conftest import STAFF_CHAT_ID
from tests.flows import answer, answer_all, answered, execute, rows, settled, start_and_consent


async def hand_off(alice: SimUser, emulator: BotApiEmulator, *, screened: bool = False) -> Message:
    """Alice starts (and finishes the self-check, if `screened`), asks for a person and
    agrees; returns the post in the staff chat."""
    await start_and_consent(alice)
    if screened:
        await answer_all(alice)
    await alice.send("/human")
    await alice.expect("Shall I send it?")
    await alice.tap(labels.handoff_send)
    await alice.expect("A therapist will reply")
    group = emulator.chats[STAFF_CHAT_ID]
    return next(m for m in group.messages.values() if m.from_bot)


async def ask_again(client: SimUser) -> None:
    """/human, then Send, from a client already known to the bot: a request reaches the clinic
    (a new one in their conversation, if it is still open)."""
    await client.send("/human")
    await client.expect("Shall I send it?")
    await client.tap(labels.handoff_send)
    await client.expect("within one working day")


async def staff_posts(emulator: BotApiEmulator) -> list[str]:
    return [m.text or "" for m in emulator.chats[STAFF_CHAT_ID].messages.values() if m.from_bot]


async def details(bot: RunningBot, staff: SimUser, emulator: BotApiEmulator) -> str:
    """Staff open the health details under the latest hand-off post; their text."""
    group = emulator.chats[STAFF_CHAT_ID]
    post = [m for m in group.messages.values() if m.from_bot and "asks to talk" in (m.text or "")][
        -1
    ]
    await staff.tap(labels.handoff_details, message=post)
    shown = await staff.expect("Client id", chat=group)

    async def recorded() -> bool:  # to remove it in a day: right after sending
        details = [h.staff_message_id for h in await rows(bot, Handoff) if h.kind == "detail"]
        return shown.message_id in details

    if not await settled(emulator, recorded):
        raise AssertionError("the health details post was never recorded for removal")
    return shown.text or ""


async def test_talk_to_a_therapist_from_the_result(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice)
    await answer_all(alice)
    await alice.tap(labels.talk_to_therapist)
    confirm = await alice.expect("Talk to a therapist")
    assert "summary of your latest self-check" in confirm.text
    assert await staff_posts(emulator) == [], "nothing is shared before the client agrees"
    await alice.tap(labels.handoff_send)
    await alice.expect("A therapist will reply to you here")

    (post,) = await staff_posts(emulator)
    assert "Alice" in post and "@alice_b" in post and str(alice.id) in post
    assert "Reply to this message" in post
    assert "lazy-glute" not in post and "Pain Eliminator" not in post, "no health in the post"
    shown = await details(bot, staff, emulator)
    assert "lazy-glute pattern strong" in shown and "Pain Eliminator" in shown

    group = emulator.chats[STAFF_CHAT_ID]
    handoff = next(m for m in group.messages.values() if m.from_bot)
    await staff.send("Hi Alice, Sam here. <Tuesday> at 3 & 4pm free?", chat=group, reply_to=handoff)
    reply = await alice.expect("Sam")
    assert "from BodyMechanix" in reply.text and "<Tuesday> at 3 & 4pm free?" in reply.text
    await staff.expect("Delivered to Alice", chat=group)

    await alice.send("Tuesday at 3 works, thanks!")
    await alice.expect("Passed on to the clinic team")
    relayed = await staff.expect("Tuesday at 3 works", chat=group)
    await staff.send("Booked!", chat=group, reply_to=relayed)
    await alice.expect("Booked!")

    kinds = [e.kind for e in await rows(bot, Event)]
    assert kinds.count("handoff") == 1


async def test_human_after_a_red_flag_says_so_to_staff(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice)
    await answer(alice, "rf_nerves", "no")
    await answer(alice, "rf_legs", "no")
    await answer(alice, "rf_chest", "no")
    await answer(alice, "rf_unwell", "fever")
    await alice.tap(labels.talk_to_therapist)
    confirm = await alice.expect("Talk to a therapist")
    assert "safety answer" in confirm.text
    assert confirm.text.startswith("🩺 Please see a doctor today"), "the advice comes first"
    await alice.tap(labels.handoff_send)
    sent = await alice.expect("within one working day")
    assert sent.text.startswith("🩺 Please see a doctor today")
    (post,) = await staff_posts(emulator)
    assert "need a doctor first" in post and "fever" not in post
    shown = await details(bot, staff, emulator)
    assert "tier B" in shown and "see a doctor today" in shown
    assert "They reported fever, chills or feeling unwell" in shown, "which symptom, to staff"


async def test_declining_the_handoff_sends_nothing(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice)
    await alice.send("/human")
    await alice.expect("Shall I send it?")
    await alice.tap(labels.handoff_cancel)
    await alice.expect("nothing was sent")
    assert await staff_posts(emulator) == []
    await alice.send("are you there?")  # no hand-off open: the usual reminder
    await alice.expect("Please use the buttons")


@pytest.fixture
def settings_without_staff_chat(settings: Settings) -> Settings:
    return settings.model_copy(update={"staff_chat_id": None})


async def test_without_a_staff_chat_clients_get_the_website(
    settings_without_staff_chat: Settings, alice: SimUser
) -> None:
    async with RunningBot(settings_without_staff_chat, poll_timeout=1.0):
        await start_and_consent(alice)
        await alice.send("/human")
        message = await alice.expect("can't reach the clinic team")
        assert message.flat_buttons[0]["url"] == shipped_clinic().website


async def test_blocking_marks_the_client_and_staff_are_told(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    handoff = await hand_off(alice, emulator)
    await alice.block()

    async def blocked(expected: bool) -> bool:
        """The client's blocked mark, once it is `expected` or after 5 s (the bot marks it
        when Telegram tells it, in its own time)."""

        async def marked() -> bool:
            (client,) = await rows(bot, Client)
            return client.blocked == expected

        await settled(emulator, marked, patience=5.0)
        (client,) = await rows(bot, Client)
        return client.blocked

    assert await blocked(True)
    group = emulator.chats[STAFF_CHAT_ID]
    await staff.send("Hello?", chat=group, reply_to=handoff)
    await staff.expect("Not delivered: this client has blocked the bot", chat=group)
    assert not [m for m in alice.bot_messages() if "Hello?" in (m.text or "")]

    await alice.send("/start")  # coming back
    await alice.expect("Welcome back")
    assert not await blocked(False)


async def test_a_403_on_sending_marks_the_client_blocked(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    handoff = await hand_off(alice, emulator)
    alice.chat.blocked = True  # blocked without the bot being told (an update lost)
    group = emulator.chats[STAFF_CHAT_ID]
    await staff.send("Hello?", chat=group, reply_to=handoff)
    await staff.expect("Not delivered: this client has blocked the bot", chat=group)
    (client,) = await rows(bot, Client)
    assert client.blocked
    assert [(e.method, e.code) for e in emulator.errors] == [("sendMessage", 403)]
    emulator.errors.clear()


async def test_yes_sends_exactly_what_was_promised_once(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice)
    await alice.send("/human")
    confirm = await alice.expect("Shall I send it?")
    assert "self-check" not in confirm.text  # nothing finished yet: only name and contact
    await answer(alice, "rf_nerves", "saddle")  # then a red flag ends a screening
    await alice.tap(labels.handoff_send, message=confirm)  # the older "yes"...
    second = await alice.tap(labels.handoff_send, message=confirm)  # ...tapped twice
    sent = (await alice.expect("within one working day")).text
    assert sent.index("999") < sent.index("within one working day"), "tier A: 999 first"
    await alice.settle(0.5)
    (post,) = await staff_posts(emulator)
    assert "doctor" not in post, "the red flag came after what she agreed to share"
    shown = await details(bot, staff, emulator)
    assert "No finished self-check" in shown and "tier" not in shown
    assert await answered(alice, second) == {"text": labels.stale}


async def test_double_taps_on_not_now_and_keep_my_data(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice)
    await alice.send("/human")
    confirm = await alice.expect("Shall I send it?")
    await alice.tap(labels.handoff_cancel, message=confirm)
    await alice.tap(labels.handoff_cancel, message=confirm)  # before the first is answered
    await alice.settle(0.5)
    await alice.send("/delete")
    ask = await alice.expect("Delete everything?")
    await alice.tap(labels.delete_no, message=ask)
    await alice.tap(labels.delete_no, message=ask)
    await alice.settle(0.5)
    assert not [m for m in alice.bot_messages() if "went wrong" in (m.text or "")]
    # "Keep my data" changes nothing to remember, so the second tap repeats the same edit:
    # Telegram refuses it as "not modified" (that one refusal, nothing else) and the bot lets
    # it be.
    refused = [(e.method, "message is not modified" in e.description) for e in emulator.errors]
    assert refused == [("editMessageText", True)], emulator.errors
    emulator.errors.clear()


async def test_messages_reach_the_team_even_mid_screening(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    await hand_off(alice, emulator)  # she agreed while at question 1 of the self-check
    assert any("Question 1 of 21" in (m.text or "") for m in alice.bot_messages())
    await alice.send("Can I come on Friday?")
    await alice.expect("Passed on to the clinic team")
    group = emulator.chats[STAFF_CHAT_ID]
    await staff.expect("Can I come on Friday?", chat=group)


async def test_an_edited_staff_reply_is_not_sent_twice(
    bot: RunningBot,
    alice: SimUser,
    staff: SimUser,
    emulator: BotApiEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handoff = await hand_off(alice, emulator)
    group = emulator.chats[STAFF_CHAT_ID]
    reply = await staff.send("See you at 3", chat=group, reply_to=handoff)
    await alice.expect("See you at 3")
    await staff.edit(reply, "See you at 4")
    await alice.expect_silence(0.5)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_delete_also_removes_the_posts_about_the_client(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    post = await hand_off(alice, emulator)
    await alice.send("/delete")
    await alice.expect("Delete everything?")
    await alice.tap(labels.delete_yes)
    await alice.expect("has been deleted")
    await emulator.changed(0.3)
    assert post.deleted


async def test_when_the_staff_chat_is_gone_the_client_is_told(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await hand_off(alice, emulator)
    emulator.chats[STAFF_CHAT_ID].bot_removed = True
    await alice.send("Are you there?")
    message = await alice.expect("can't reach the clinic team")
    assert message.flat_buttons[0]["url"]
    assert [(e.method, e.code) for e in emulator.errors] == [("sendMessage", 403)]
    emulator.errors.clear()


async def test_a_burst_while_handed_off_gets_one_answer(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await hand_off(alice, emulator)
    for _ in range(8):
        await alice.send_media("sticker")
    await alice.settle(2.5)  # replies to one chat are paced at about one a second
    answers = [m for m in alice.bot_messages() if "only pass on text" in (m.text or "")]
    assert 1 <= len(answers) <= 3


async def test_a_photo_right_after_words_is_mentioned_with_them_not_on_its_own(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await hand_off(alice, emulator)
    await alice.send("Here is the scan from my GP")
    await alice.send_media("photo")  # within the couple of seconds words are merged in
    await alice.expect("Passed on to the clinic team ✅ (the text only")
    await alice.settle(1.5)
    assert not [m for m in alice.bot_messages() if "only pass on text" in (m.text or "")]
    posts = [m.text or "" for m in emulator.chats[STAFF_CHAT_ID].messages.values()]
    assert any("Here is the scan from my GP" in p for p in posts)


async def test_only_staff_ids_speak_for_the_clinic(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    post = await hand_off(alice, emulator)
    group = emulator.chats[STAFF_CHAT_ID]
    mallory = SimUser(emulator, 6666, "Mallory")  # in the group, not in STAFF_IDS
    anonymous_admin = SimUser(emulator, 1087968824, "Group")  # Telegram's GroupAnonymousBot
    await mallory.send("Pay your deposit at evil.example", chat=group, reply_to=post)
    await mallory.expect("Only clinic staff can answer clients", chat=group)
    await anonymous_admin.send("Pay here", chat=group, reply_to=post, anonymous=True)
    await anonymous_admin.expect("Only clinic staff can answer clients", chat=group)
    await alice.expect_silence(0.5)
    assert not [m for m in alice.bot_messages() if "evil.example" in m.text or "Pay here" in m.text]
    await staff.send("Hello Alice", chat=group, reply_to=post)
    await alice.expect("Hello Alice")


async def test_the_conversation_window_is_the_same_both_ways_and_staff_keep_it_open(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    post = await hand_off(alice, emulator)
    group = emulator.chats[STAFF_CHAT_ID]
    await staff.send("Hi Alice", chat=group, reply_to=post)
    await alice.expect("Hi Alice")
    await staff.expect("Delivered to Alice", chat=group)
    await staff.send("One more thing", chat=group, reply_to=post)
    await alice.expect("One more thing")
    await staff.expect("Delivered to Alice", chat=group)
    await alice.send("Thanks!")
    await alice.expect("Passed on to the clinic team")
    await alice.settle(0.5)
    # Eight days after the last staff activity the window is shut both ways: her own recent
    # message does not keep it open (she is still at her first question).
    staff_side = update(Handoff).where(Handoff.kind != "relay")
    await execute(bot, staff_side.values(created_at=utcnow() - timedelta(days=8)))
    await alice.send("Anyone there?")
    reply = await alice.expect("Please use the buttons")  # her question again, not "passed on"
    assert "Passed on" not in reply.text
    await staff.send("Late answer", chat=group, reply_to=post)
    closed = await staff.expect("Not delivered", chat=group)
    assert "closed after 7 days" in closed.text
    await alice.expect_silence(0.5)


async def test_a_burst_to_the_team_is_one_post_and_staff_can_close_the_conversation(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    post = await hand_off(alice, emulator)
    group = emulator.chats[STAFF_CHAT_ID]
    posts_before = len(await staff_posts(emulator))
    for n in range(5):
        await alice.send(f"part {n} of my long story")
    await alice.expect("Passed on to the clinic team")
    await alice.settle(1.5)
    relayed = (await staff_posts(emulator))[posts_before:]
    assert len(relayed) == 1 and all(f"part {n} of" in relayed[0] for n in range(5)), relayed
    assert sum("Passed on" in (m.text or "") for m in alice.bot_messages()) == 1

    mallory = SimUser(emulator, 6666, "Mallory")  # in the group, not staff
    refused = await mallory.tap(labels.handoff_close, message=post)
    assert (await answered(mallory, refused)).get("text") == labels.staff_only
    await mallory.expect_silence(0.3)
    await staff.tap(labels.handoff_close, message=post)
    await staff.expect("closed the conversation with Alice", chat=group)
    await alice.expect("has closed this conversation")
    assert not group.messages[post.message_id].flat_buttons
    await alice.send("Still there?")
    reply = await alice.expect("Please use the buttons")  # her question again, not relayed
    assert "Passed on" not in reply.text


async def test_words_to_the_team_written_just_before_delete_never_stay_in_the_group(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    """A message is merged with the next ones for a couple of seconds before it is posted;
    /delete within them (or while it is being posted) leaves nothing of it in the group."""
    await hand_off(alice, emulator)
    await alice.send("please call me on 07700 900123")
    await alice.send("/delete")
    await alice.expect("Delete everything?")
    await alice.tap(labels.delete_yes)
    await alice.expect("has been deleted")
    await asyncio.sleep(RELAY_MERGE.total_seconds() + 0.5)  # when the post would have gone
    group = emulator.chats[STAFF_CHAT_ID].messages.values()
    assert not [m for m in group if "07700" in (m.text or "") and not m.deleted]
    assert not [m for m in alice.bot_messages() if "Passed on" in (m.text or "")]


async def test_health_details_are_shown_on_demand_and_gone_after_a_day(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    post = await hand_off(alice, emulator, screened=True)
    mallory = SimUser(emulator, 6666, "Mallory")  # in the group, not staff
    group = emulator.chats[STAFF_CHAT_ID]
    refused = await mallory.tap(labels.handoff_details, message=post)
    assert (await answered(mallory, refused)).get("text") == labels.staff_only
    await mallory.expect_silence(0.3)
    shown = await details(bot, staff, emulator)
    assert "lazy-glute pattern" in shown

    def live() -> list[str]:
        return [m.text or "" for m in group.messages.values() if m.from_bot and not m.deleted]

    await remove_expired_details(bot.services, bot.app.bot)
    assert live() == [post.text, shown], "not yet a day: the details stay"
    await execute(
        bot,
        update(Handoff)
        .where(Handoff.kind == "detail")
        .values(created_at=utcnow() - timedelta(hours=25)),
    )
    await remove_expired_details(bot.services, bot.app.bot)
    # ...or the bot's own sweep (30 s after start) took them first and may still be at it.
    await settled(emulator, lambda: live() == [post.text])
    assert live() == [post.text], "the details went; the post without health data stays"


async def test_delete_removes_what_it_can_and_asks_staff_for_the_rest(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    post = await hand_off(alice, emulator)
    await alice.send("my message for the team")
    relayed = await staff.expect("my message for the team", chat=emulator.chats[STAFF_CHAT_ID])
    await alice.expect("Passed on to the clinic team")  # the post is on record now
    post.date -= 3 * 24 * 3600  # the request post is three days old now
    await alice.send("/delete")
    await alice.expect("Delete everything?")
    await alice.tap(labels.delete_yes)
    done = await alice.expect("has been deleted")
    assert "removed my 1 post" in done.text and "1 older post" in done.text
    group = emulator.chats[STAFF_CHAT_ID]
    assert group.messages[relayed.message_id].deleted
    please = await staff.expect("has deleted their data", chat=group)
    assert "Alice" not in (please.text or "")
    refused = [(e.method, e.description) for e in emulator.errors]
    assert refused == [("deleteMessage", "Bad Request: message can't be deleted")]
    emulator.errors.clear()
