"""Crisis words and typed red flags end to end (care-safety.md, "Crisis words", "The gate holds
everywhere", "Every spelling"): whatever the chat is waiting for (idle, mid-self-check, the
reminder setup, a conversation with the team), the very next message answers them, never
the generic "automated assistant" line, and the team hears of it marked urgent. And the hold
a red flag starts, without leaks: no booking left on earlier results, no lifting by one tap
in the first hours, the team told, and a symptom a doctor has checked not held again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.jobs import remove_expired_details
from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs.clinic import shipped_clinic
from dialogs.render import labels
from storage.models import BreakDay, Client, Delivery, Handoff, ReminderPlan, Screening
from tests.conftest import STAFF_CHAT_ID
from tests.flows import (
    LABELS,
    TYPICAL,
    Q,
    answer,
    answer_all,
    doctor_has_checked,
    execute,
    first_hours_over,
    rows,
    safe_option,
    settled,
    start_and_consent,
)
from tests.test_e2e_broadcast import compose, send_now, tips_of, wait_done
from tests.test_e2e_human import hand_off, staff_posts
from tests.test_e2e_reminders import INTERVAL, next_prompt, opt_in, up_to_a_typed_zone, zone_at
from tests.test_e2e_safety import replies_after

SAMARITANS = shipped_clinic().emergency.crisis_lines[0].button  # the first line's button

GENERIC = "I'm an automated assistant"
CRISIS_LINES = ("116 123", "988", "999")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"reminder_interval": timedelta(seconds=INTERVAL)})


def buttons_of(user: SimUser, text: str) -> list[str]:
    (shown,) = [m for m in user.bot_messages() if m.shown_text == text]
    return [b["text"] for b in shown.flat_buttons]


async def idle(user: SimUser) -> None:
    await start_and_consent(user)
    await answer_all(user)


async def mid_self_check(user: SimUser) -> None:
    await start_and_consent(user)
    await answer(user, "rf_nerves", "no")


async def in_reminder_setup(user: SimUser) -> None:
    await idle(user)
    await up_to_a_typed_zone(user, interval=f"{INTERVAL} s")


WHERE = {"idle": idle, "mid-self-check": mid_self_check, "reminder setup": in_reminder_setup}


@pytest.mark.parametrize("where", sorted(WHERE))
async def test_crisis_words_get_the_lines_first_and_open_a_conversation_with_the_team(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator, where: str
) -> None:
    await WHERE[where](alice)
    await alice.send("I want to kill myself")
    (answer_text,) = await replies_after(alice)
    assert answer_text.startswith("💛 I'm really sorry you're feeling like this")
    assert all(line in answer_text for line in CRISIS_LINES) and GENERIC not in answer_text
    assert "let the team at the clinic know" in answer_text
    assert SAMARITANS in buttons_of(alice, answer_text), "a person to talk to, now"

    # The team is alerted, urgent, with the words themselves under the alert.
    async def alerted() -> bool:
        return any("I want to kill myself" in post for post in await staff_posts(emulator))

    assert await settled(emulator, alerted)
    alert, words = await staff_posts(emulator)
    assert alert.startswith("🚨 URGENT: Alice may be thinking of harming themselves")
    assert words.startswith("🚨 URGENT: this message may speak of self-harm or suicide")
    # A conversation is open: a staff reply reaches her, what she writes reaches them.
    group = emulator.chats[STAFF_CHAT_ID]
    post = next(m for m in group.messages.values() if m.from_bot)
    await staff.send("Alice, this is Sam from the clinic. Are you safe right now?", reply_to=post,
                     chat=group)  # fmt: skip
    await alice.expect("Are you safe right now?")
    await alice.send("I'm at home, my sister is here")
    await alice.expect("Passed on to the clinic team")
    await staff.expect("my sister is here", chat=group)
    # In /inbox it comes first, marked as crisis words.
    await staff.send("/inbox")
    listed = await staff.expect("Open requests: 1")
    assert "URGENT: crisis words" in listed.text
    (request,) = [h for h in await rows(bot, Handoff) if h.kind == "request"]
    assert request.urgent == "crisis"
    if where == "mid-self-check":  # the self-check waits where it was
        (screening,) = await rows(bot, Screening)
        assert screening.status == "in_progress"


async def test_crisis_words_in_a_hand_off_and_a_denial_are_answered_gently_too(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    bob = SimUser(emulator, 5002, "Bob")
    await hand_off(alice, emulator)
    await alice.send("I'm not going to kill myself, but some days I don't see the point")
    gentle, passed_on = await replies_after(alice)
    assert gentle.startswith("💛 Thank you for telling me.") and "116 123" in gentle
    assert "passing your message on to the clinic team too, marked urgent" in gentle
    assert labels.talk_to_someone not in buttons_of(alice, gentle), "already talking to them"
    assert "Passed on to the clinic team" in passed_on
    relayed = (await staff_posts(emulator))[-1]
    assert relayed.startswith("🚨 URGENT: this message may speak of self-harm or suicide")
    # Before any consent, in a letter-spaced spelling: the lines all the same.
    await bob.send("/start")
    await bob.expect("Before the self-check")
    await bob.send("w a n t  t o  d i e")
    (lines,) = await replies_after(bob)
    assert "116 123" in lines and GENERIC not in lines


async def test_no_tips_and_no_booking_on_the_day_of_crisis_words(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    bob = SimUser(emulator, 5002, "Bob")
    await start_and_consent(bob)
    await answer_all(bob)
    await alice.send("I've been thinking I'd be better off dead")  # her first words
    await alice.expect("116 123")
    await start_and_consent(alice)
    result = await answer_all(alice)  # the self-check, the same day, ends without sales
    assert "Your self-check result" in result.shown_text
    assert not [b for b in result.flat_buttons if "url" in b], "no booking link today"
    await compose(staff, "A tip for {{ first_name }}: stand up every hour!")
    question = await send_now(staff)
    assert "2 clients" in question, "the audience still counts her: she is held at the send"
    await wait_done(staff, 1)
    assert tips_of(bob) and not tips_of(alice)
    statuses = {d.client_id: d.status for d in await rows(bot, Delivery)}
    assert sorted(statuses.values()) == ["held", "sent"]
    # The day over, the time of the words is forgotten.
    await execute(bot, update(Client).values(crisis_at=bot.services.clock() - timedelta(days=2)))
    await remove_expired_details(bot.services, bot.app.bot)
    assert [c.crisis_at for c in await rows(bot, Client)] == [None, None]


TIER_B = "I have a fever and my lower back hurts"


async def test_a_tier_b_sign_typed_anywhere_gets_a_doctor_today_and_the_self_check(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    names = ("Bob", "Carol", "Dan")
    bob, carol, dan = (SimUser(emulator, 5002 + i, name) for i, name in enumerate(names))
    await idle(alice)
    await alice.send(TIER_B)
    (advice,) = await replies_after(alice)
    assert advice.startswith("🩺 Please see a doctor today.") and GENERIC not in advice
    assert labels.new_check in buttons_of(alice, advice), "the self-check is offered"
    await alice.tap(labels.new_check)
    await alice.expect("Question 1 of")

    await mid_self_check(bob)
    await bob.send("my back pain wakes me up every night")
    (advice,) = await replies_after(bob)
    assert "back pain that wakes you at night" in advice
    assert "next safety questions ask about this" in advice

    await in_reminder_setup(carol)
    await carol.send("I fell down the stairs yesterday and now my back really hurts")
    (advice,) = await replies_after(carol)
    assert advice.startswith("🩺 Please see a doctor today.") and "Type the name" not in advice

    await hand_off(dan, emulator)
    await dan.send("I keep having accidents, I can't hold it in")  # tier A, in other words
    advice, _ = await replies_after(dan)
    assert advice.startswith("Please get urgent medical help now")
    relayed = (await staff_posts(emulator))[-1]
    assert relayed.startswith("🚨 URGENT: this message may describe an emergency")
    clients = {c.telegram_id: c for c in await rows(bot, Client)}
    assert clients[alice.id].safety_tier is None, "typed tier B words hold nothing"
    assert clients[dan.id].safety_tier == "A"


async def test_look_alike_letters_hide_no_emergency(bot: RunningBot, alice: SimUser) -> None:
    await mid_self_check(alice)
    await alice.send("І сan't рее and my bum is numb")  # Cyrillic І, с, р, е
    (advice,) = await replies_after(alice)
    assert advice.startswith("Please get urgent medical help now")
    (client,) = await rows(bot, Client)
    assert client.safety_tier == "A"


# --- the hold without leaks ---------------------------------------------------------------


async def test_a_hold_takes_the_booking_off_every_earlier_result(
    bot: RunningBot, alice: SimUser
) -> None:
    await start_and_consent(alice)
    first = await answer_all(alice, {**TYPICAL, "improving": "worse"})  # tier C: booking fine
    assert "Booking with us is still fine" in first.shown_text
    assert [b for b in first.flat_buttons if "url" in b], "booking buttons"
    await alice.send("I can't feel my legs since this morning")
    await alice.expect("urgent medical help now")

    async def unbooked() -> bool:
        return not first.flat_buttons

    assert await settled(alice.emulator, unbooked)
    assert "Booking with us is still fine" not in first.shown_text
    assert "What we'd suggest" not in first.shown_text and "Suggestions on hold" in first.shown_text
    assert [s.result_message_id for s in await rows(bot, Screening)] == [None]


async def test_a_result_sent_anew_because_its_question_was_deleted_loses_its_booking_too(
    bot: RunningBot, alice: SimUser
) -> None:
    """The result normally replaces the last question in place, and the bot notes that message
    as it records the answer; when the edit fails (the client deleted the question), the
    result arrives as a new message, and that one is the message a hold must unbook."""
    await start_and_consent(alice)
    chosen = {**TYPICAL, "improving": "worse"}  # tier C: booking fine
    message = alice.last_message
    while True:
        question = next(q for q in Q.questions if q.text.split("\n")[0] in message.html)
        if question is Q.questions[-1]:
            break
        message = await answer(alice, question.id, chosen.get(question.id, safe_option(question)))
    last = message
    last.deleted = True  # deleted by the client after pressing: the edit cannot land
    alice.mark()
    option = chosen.get(question.id, safe_option(question))
    label = LABELS[question.id][option]
    data = next(b["callback_data"] for b in last.flat_buttons if b["text"] == label)
    alice.emulator.press(alice.user, last, data)
    result = (await alice.next_action()).message
    assert result.message_id != last.message_id and [b for b in result.flat_buttons if "url" in b]
    await alice.send("I can't feel my legs since this morning")
    await alice.expect("urgent medical help now")

    async def unbooked() -> bool:
        return not result.flat_buttons

    assert await settled(alice.emulator, unbooked), "the result sent anew loses its booking"
    refused = [(e.method, e.description) for e in alice.emulator.errors]
    assert refused == [("editMessageText", "Bad Request: message to edit not found")]
    alice.emulator.errors.clear()


async def test_lifting_asks_who_and_when_not_in_the_first_hours_and_tells_the_team(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await hand_off(alice, emulator)
    await alice.send("I've wet myself twice today and can't feel my bum")
    await alice.expect("urgent medical help now")
    await alice.send("/start")
    held = await alice.expect("Please get urgent medical help first")
    assert labels.doctor_checked not in [b["text"] for b in held.flat_buttons]
    assert "send /start again from" in held.shown_text, "the advice says from when"
    await first_hours_over(bot)
    await alice.send("/start")
    await alice.expect("Please get urgent medical help first")
    await alice.tap(labels.doctor_checked)
    await alice.expect("Who checked you?")
    (client,) = await rows(bot, Client)
    assert client.safety_tier == "A", "not lifted by one tap"
    await alice.tap(labels.check_urgent)
    await alice.expect("When was that?")
    await alice.tap(labels.check_when_today)
    await alice.expect("glad you've been checked")

    async def told() -> bool:
        return any("checked them today" in post for post in await staff_posts(emulator))

    assert await settled(emulator, told), "the team knew of the hold: they hear it lifted"
    note = (await staff_posts(emulator))[-1]
    assert note.startswith("🩺 Alice says A&E / the emergency department checked them today")
    (client,) = await rows(bot, Client)
    assert client.safety_tier is None and client.checked == {
        "bladder": {"on": client.safety_cleared_at.astimezone(bot.services.clinic.zone)
                   .date().isoformat(), "by": "urgent", "when": "today"}
    }  # fmt: skip


async def test_a_symptom_a_doctor_checked_is_asked_about_not_held_again(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice)
    for question in ("rf_nerves", "rf_legs", "rf_chest"):
        await answer(alice, question, "no")
    exit_message = await answer(alice, "rf_unwell", "cancer")
    assert "see a doctor today" in exit_message.shown_text
    await alice.send("/start")
    await alice.expect("Please see a doctor today")
    await doctor_has_checked(alice)  # no request: the team hears nothing of it
    await alice.tap(labels.new_check)
    await alice.expect("Question 1 of")
    for question in ("rf_nerves", "rf_legs", "rf_chest"):
        await answer(alice, question, "no")
    asked = await answer(alice, "rf_unwell", "cancer")  # the same honest answer
    assert "Is it new or worse since then?" in asked.shown_text
    await alice.tap(labels.checked_same)
    await alice.expect("Question 5 of")
    result = await answer_all(alice)
    assert "no worse since" in result.shown_text
    assert [b for b in result.flat_buttons if "url" in b], "booking is open: not held again"
    (client,) = await rows(bot, Client)
    assert client.safety_tier is None
    assert not [p for p in await staff_posts(emulator) if "checked them" in p]
    await alice.send("/mydata")
    summary = await alice.expect("A doctor has checked a past diagnosis of cancer")
    assert "a later self-check asks whether it is new or worse" in summary.shown_text


# --- typed words at a prompt, and a rotation that fits the client ---------------------------


async def test_words_typed_at_a_prompt_act_on_it_and_stop_in_a_hand_off_asks(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    bob = SimUser(emulator, 5002, "Bob")
    await start_and_consent(alice)
    await answer_all(alice)
    await opt_in(alice, zone_at(10, 15))
    await next_prompt(alice)
    await alice.send("Done!")
    await alice.expect("break")
    (day,) = await rows(bot, BreakDay)
    assert day.done == 1
    await alice.send("STOP")
    panel = await alice.expect("Your movement-break reminders")
    assert labels.plan_on in [b["text"] for b in panel.flat_buttons]
    (plan,) = await rows(bot, ReminderPlan)
    assert plan.status == "off"

    await hand_off(bob, emulator)
    await opt_in(bob, zone_at(10, 15))
    await next_prompt(bob)
    await bob.send("done")  # a prompt is open: it is the prompt's, not the team's
    await bob.expect("break")
    await bob.send("stop")
    asked = await bob.expect('passing "stop" on to the clinic team')
    await staff.expect("stop", chat=emulator.chats[STAFF_CHAT_ID])
    assert "done" not in (await staff_posts(emulator))[-1]
    await bob.tap(labels.plan_off, message=asked)
    await bob.expect("Your movement-break reminders")
    plans = {p.client_id: p.status for p in await rows(bot, ReminderPlan)}
    assert sorted(plans.values()) == ["off", "off"]


async def test_a_client_who_might_be_pregnant_gets_no_bridge_in_the_rotation(
    bot: RunningBot, alice: SimUser
) -> None:
    await start_and_consent(alice)
    await answer_all(alice, {**TYPICAL, "ci_laser": "yes"})
    await opt_in(alice, zone_at(10, 15))
    kinds = set()
    for _ in range(7):  # more than the six movements: one round at least
        prompt = await next_prompt(alice, timeout=3 * INTERVAL + 4)
        kinds.add((prompt.text or "").split("\n")[0])
    assert not [k for k in kinds if "Bridge" in k] and len(kinds) == 5
