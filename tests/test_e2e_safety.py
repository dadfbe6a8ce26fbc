"""The red-flag gate at every door, end to end: after a tier A or B answer the client gets no
movement prompt, no tip and no booking button, whatever they press or type, and the urgent
advice comes first, until they say a doctor has checked them. Also the result's own safety
rules: chest pain is tier A, a contraindication removes exactly its service, a client with no
pain and no signs is encouraged to keep moving, without any sales."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs.clinic import shipped_clinic
from dialogs.render import labels
from storage.models import Client, Delivery, ReminderPlan, Screening
from tests.content import content_folder
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
    settled,
    start_and_consent,
)
from tests.test_e2e_broadcast import compose, send_now, tips_of, wait_done
from tests.test_e2e_human import ask_again, details, hand_off, staff_posts
from tests.test_e2e_reminders import (
    INTERVAL,
    next_prompt,
    opt_in,
    prompt_times,
    up_to_a_typed_zone,
    zone_at,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"reminder_interval": timedelta(seconds=INTERVAL)})


LABELS_OF_SYMPTOMS = Q.symptoms


def urls(message: object) -> list[str]:
    return [b["url"] for b in message.flat_buttons if "url" in b]  # type: ignore[attr-defined]


# (gate questions answered "no" first, the red-flag answer, what its exit says, the advice that
# then comes first everywhere, the stored symptom)
TIER_B = (("rf_nerves", "rf_legs", "rf_chest"), ("rf_unwell", "fever"), "see a doctor today",
          "🩺 Please see a doctor today", "fever")  # fmt: skip
TIER_A = (("rf_nerves", "rf_legs"), ("rf_chest", "chest"), "urgent medical help now",
          "🚨 Please get urgent medical help first", "chest")  # fmt: skip


async def red_flag(user: SimUser, tier: tuple) -> str:  # type: ignore[type-arg]
    """A new self-check that stops at the tier's red-flag answer; the exit's text."""
    gates_before, (question, option), *_ = tier
    await user.send("/start")
    await user.expect("Welcome back")
    await user.tap(labels.new_check)
    await user.expect("Question 1 of")
    for gate in gates_before:
        await answer(user, gate, "no")
    await user.tap(LABELS[question][option])
    return (await user.expect(tier[2])).shown_text


@pytest.mark.parametrize("tier", [TIER_B, TIER_A], ids=["tier B", "tier A"])
async def test_after_a_red_flag_no_prompt_no_tip_no_booking_until_a_doctor_checked(
    bot: RunningBot,
    alice: SimUser,
    staff: SimUser,
    emulator: BotApiEmulator,
    tier: tuple,  # type: ignore[type-arg]
) -> None:
    *_, exit_says, advice, symptom = tier
    bob = SimUser(emulator, 5002, "Bob")
    await start_and_consent(bob)
    await start_and_consent(alice)
    await answer_all(alice)
    await opt_in(alice, zone_at(10, 15))
    await next_prompt(alice)  # reminders work before the red flag

    exit_text = await red_flag(alice, tier)
    await alice.settle(0.5)  # a prompt claimed just before the answer was saved may follow it
    held_since = len(prompt_times(alice))
    assert exit_says in exit_text and LABELS_OF_SYMPTOMS[symptom] in exit_text
    assert "won't suggest treatments or send movement-break reminders or tips" in exit_text
    assert urls(alice.last_message) == []

    # A tip to everyone who wants tips: Bob gets it, Alice is held back and counted as such.
    panel = await compose(staff)
    assert "1 client now" in panel.shown_text
    assert "1 more client wants tips but is left out after a red-flag answer" in panel.shown_text
    await send_now(staff)
    assert "sent to 1 of 1" in (await wait_done(staff, 1)).shown_text
    assert (len(tips_of(alice)), len(tips_of(bob))) == (0, 1)

    # Whatever she presses or types, the advice comes first and nothing is sold (and in a
    # tier A hold's first hours, a doctor's check is not offered yet).
    first_hours = [labels.talk_to_therapist] if tier is TIER_A else []
    for command in ("/start", "/reminders", "hello?"):
        await alice.send(command)
        reply = await alice.expect(advice[2:])
        assert reply.shown_text.startswith(advice)
        assert [b["text"] for b in reply.flat_buttons] == first_hours or [
            labels.doctor_checked,
            labels.talk_to_therapist,
        ]
    # Her earlier result has lost its booking buttons and its suggestions with the hold.
    result = next(m for m in alice.bot_messages() if "Your self-check result" in (m.text or ""))
    assert result.flat_buttons == [] and "Suggestions on hold" in result.shown_text
    assert "What we'd suggest" not in result.shown_text
    await alice.send("/human")
    confirm = await alice.expect("Shall I send it?")
    assert confirm.shown_text.startswith(advice)
    assert len(prompt_times(alice)) == held_since, "no movement prompt while held"
    await alice.send("/mydata")
    data = json.loads((await alice.expect("everything I store about you")).file_content)
    stored = (data["client"]["safety_tier"], data["client"]["safety_symptom"])
    assert stored == ("B" if tier is TIER_B else "A", symptom)
    assert data["client"]["safety_at"]

    # A doctor has checked her: prompts and tips come again, and a new self-check is offered.
    await first_hours_over(bot)
    await alice.send("/start")
    await alice.expect(advice[2:])
    lifted = await doctor_has_checked(alice)
    assert [b["text"] for b in lifted.flat_buttons] == [labels.new_check]
    await next_prompt(alice, timeout=3 * INTERVAL + 4)
    (client,) = [c for c in await rows(bot, Client) if c.telegram_id == alice.id]
    assert client.safety_tier is None and client.safety_cleared_at is not None
    await compose(staff)
    await send_now(staff)
    await wait_done(staff, 2)
    assert len(tips_of(alice)) == 1
    assert sorted(d.status for d in await rows(bot, Delivery)) == ["sent", "sent", "sent"]


async def test_chest_pain_is_tier_a_and_a_hand_off_puts_999_first(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice)
    await answer(alice, "rf_nerves", "no")
    await answer(alice, "rf_legs", "no")
    urgent = await answer(alice, "rf_chest", "chest")
    assert "urgent medical help now" in urgent.shown_text and "999" in urgent.shown_text
    assert "chest pain" in urgent.shown_text
    assert "appear later" not in urgent.shown_text, "not about the symptom just reported"
    (client,) = await rows(bot, Client)
    assert (client.safety_tier, client.safety_symptom) == ("A", "chest")
    await alice.send("/human")
    confirm = await alice.expect("Shall I send it?")
    assert confirm.shown_text.startswith("🚨 Please get urgent medical help first")
    await alice.tap(labels.handoff_send)
    sent = (await alice.expect("within one working day")).shown_text
    assert sent.index("999") < sent.index("within one working day")
    await alice.settle(0.3)
    shown = await details(bot, staff, emulator)
    assert "tier A" in shown and "They reported chest pain" in shown


PAINFUL = {**TYPICAL, "duration": "gt3m", "severity": "7", "onset": "45_50", "improving": "same"}


@pytest.mark.parametrize(
    ("contra", "removed", "kept"),
    [
        ({"ci_laser": "yes"}, "laser", ("pain_eliminator", "tnt")),
        ({"ci_hands": "unsure"}, "hands_on", ("pain_eliminator", "laser")),
    ],
)
async def test_a_contraindication_removes_exactly_its_service_and_staff_see_why(
    bot: RunningBot,
    alice: SimUser,
    staff: SimUser,
    emulator: BotApiEmulator,
    contra: dict[str, str],
    removed: str,
    kept: tuple[str, ...],
) -> None:
    await start_and_consent(alice)
    result = await answer_all(alice, {**PAINFUL, **contra})
    booked = [b["text"] for b in result.flat_buttons if "url" in b]
    assert booked == [labels.book.format(service=Q.services[s].name) for s in kept]
    assert Q.contraindications[removed].line in result.shown_text
    for service in Q.contraindications[removed].services:
        assert f"• {Q.services[service].name}" not in result.shown_text

    # The hand-off summary tells staff, in the third person, what they need before a call.
    await alice.tap(labels.talk_to_therapist)
    await alice.expect("Shall I send it?")
    await alice.tap(labels.handoff_send)
    await alice.expect("A therapist will reply")
    summary = await details(bot, staff, emulator)
    for fact in (
        "back pain for over 3 months",
        "typically 7/10",
        "it stays in the back",
        "about the same",
        "Safety status: tier C",
        f"Contraindication: {Q.contraindications[removed].staff}",
    ):
        assert fact in summary, fact


async def test_no_pain_and_no_signs_gets_keep_moving_without_any_sales(
    bot: RunningBot, alice: SimUser
) -> None:
    await start_and_consent(alice)
    calm = {
        "sitting": "lt4",
        "stairs": "glutes",
        "chair": "push",
        "stiffness": "rarely",
        "back_tires": "rarely",
        "squats": "glutes",
        "duration": "none",
    }
    result = await answer_all(alice, calm)
    assert "Keep moving" in result.shown_text
    assert urls(result) == [], "no booking link"
    assert "What we'd suggest" not in result.shown_text
    assert labels.remind_me in [b["text"] for b in result.flat_buttons]


async def test_no_consent_lists_the_urgent_symptoms_before_any_link(
    bot: RunningBot, alice: SimUser, settings: Settings
) -> None:
    info = await start_and_consent(alice, health=False, tips=True)
    text = info.shown_text
    assert text.index("999") < text.index("website"), "urgent symptoms first"
    for symptom in ("between the legs", "chest pain", "fever"):
        assert symptom in text
    for service in ("Pain Eliminator", "TNT", "Laser"):
        assert service not in text
    assert urls(info) == [shipped_clinic().website]


async def replies_after(user: SimUser, quiet: float = 2.5) -> list[str]:
    """Every message the bot sends in reply to what the user just sent, in order (a chat gets
    about one message a second, so a second reply may take that long); edits of older
    messages (a question losing its buttons) aside."""
    texts: list[str] = []
    while True:
        try:
            action = await user.next_action(timeout=quiet if texts else 5.0)
        except TimeoutError:
            if texts:
                return texts
            raise
        if action.kind == "send":
            texts.append(action.message.shown_text)


EMERGENCY = "I can't feel my bum and I can't pee since this morning, can I come in today?"


async def test_an_emergency_typed_mid_screening_gets_the_advice_at_once(
    bot: RunningBot, alice: SimUser
) -> None:
    await start_and_consent(alice)
    await answer(alice, "rf_nerves", "no")
    await alice.send(EMERGENCY)
    (advice,) = await replies_after(alice)
    assert advice.startswith("Please get urgent medical help now") and "999" in advice
    (client,) = await rows(bot, Client)
    assert (client.safety_tier, client.safety_symptom, client.stage) == ("A", "saddle", "idle")
    (screening,) = await rows(bot, Screening)
    assert (screening.status, screening.red_flag_tier) == ("red_flag", "A")
    question = [m for m in alice.bot_messages() if "Question 2 of" in (m.text or "")][-1]
    await settled(alice.emulator, lambda: not question.flat_buttons)
    assert not question.flat_buttons, "the self-check ended: its question can't be answered"
    assert "Question 2 of" in (question.text or ""), "it keeps its text"


async def test_an_emergency_typed_idle_or_in_a_caption_holds_and_a_negation_does_not(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    bob = SimUser(emulator, 5002, "Bob")
    await start_and_consent(bob)
    await answer_all(bob)
    await bob.send("No numbness down there and I never had chest pain, just a stiff back")
    (hint,) = await replies_after(bob)
    assert "999" not in hint and "ask the team" in hint, "the idle line, not the advice"
    await start_and_consent(alice)
    await answer_all(alice)
    await alice.send_media("photo", caption="my legs keep giving way, can't walk properly")
    (advice,) = await replies_after(alice)
    assert advice.startswith("Please get urgent medical help now")
    clients = {c.telegram_id: c for c in await rows(bot, Client)}
    assert clients[alice.id].safety_tier == "A" and clients[bob.id].safety_tier is None
    await alice.send("/start")
    assert (await alice.expect("999")).shown_text.startswith("🚨")


async def test_an_emergency_typed_in_a_hand_off_gets_advice_and_an_urgent_staff_post(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await hand_off(alice, emulator)
    await alice.send("Crushing chest pain for the last hour, should I still come on Friday?")
    advice, passed_on = await replies_after(alice)
    assert advice.startswith("Please get urgent medical help now") and "chest pain" in advice
    # Already talking to the team: told it goes to them too, not offered a hand-off again.
    assert "passing your message on to the clinic team too, marked urgent" in advice
    assert "tap the button below" not in advice
    (shown,) = [m for m in alice.bot_messages() if m.shown_text == advice]
    assert labels.talk_to_therapist not in [b["text"] for b in shown.flat_buttons]
    assert "Passed on to the clinic team" in passed_on
    relayed = (await staff_posts(emulator))[-1]
    assert relayed.startswith("🚨 URGENT") and "Crushing chest pain" in relayed


async def test_an_emergency_before_any_consent_is_advised_and_nothing_is_stored(
    bot: RunningBot, alice: SimUser
) -> None:
    await alice.send("/start")
    await alice.expect("Before the self-check")
    await alice.send("help I have lost control of my bladder")
    (advice,) = await replies_after(alice)
    assert advice.startswith("Please get urgent medical help now")
    (client,) = await rows(bot, Client)
    assert client.safety_tier is None and await rows(bot, Screening) == []


async def test_an_emergency_typed_where_a_time_zone_is_awaited_gets_the_advice_not_a_zone_error(
    bot: RunningBot, alice: SimUser
) -> None:
    await start_and_consent(alice)
    await answer_all(alice)
    await up_to_a_typed_zone(alice, interval=f"{INTERVAL} s")
    await alice.send("Europe/London and both my legs are numb since lunch")
    (advice,) = await replies_after(alice)
    assert advice.startswith("Please get urgent medical help now")
    assert "pain or numbness spreading down both legs" in advice
    (client,) = await rows(bot, Client)
    assert (client.safety_tier, client.safety_symptom) == ("A", "both_legs")
    assert [p.status for p in await rows(bot, ReminderPlan)] != ["active"], "no reminders set up"


async def test_the_day_of_a_red_flag_is_told_in_clinic_time(
    settings: Settings, emulator: BotApiEmulator, alice: SimUser, staff: SimUser, tmp_path: Path
) -> None:
    """A red flag at 23:30 UTC on 29 November is the 30th in a Tokyo clinic: the client's
    reminder of it and /privacy say the clinic's day, as the staff summary does (and of the
    doctor's check that lifted it)."""
    folder = content_folder(tmp_path, clinic={"timezone": "Asia/Tokyo"})
    tokyo = settings.model_copy(update={"content_dir": folder})
    async with RunningBot(tokyo, poll_timeout=1.0, settle=False) as bot:
        await start_and_consent(alice)
        for question in ("rf_nerves", "rf_legs", "rf_chest"):
            await answer(alice, question, "no")
        await alice.tap(LABELS["rf_unwell"]["fever"])
        await alice.expect("see a doctor today")
        late_evening = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
        await execute(bot, update(Client).values(safety_at=late_evening))
        await alice.send("/start")
        held = await alice.expect("Please see a doctor today")
        assert "On 30 Nov you told me about fever" in held.text and "29 Nov" not in held.text
        await alice.send("/privacy")
        assert "(since 30 Nov 2026)" in (await alice.expect("Your privacy")).text
        await alice.send("/progress")  # no reminders to suggest while held: the advice
        nothing = await alice.expect("Nothing to chart yet")
        assert "Please see a doctor today" in nothing.text and "/reminders" not in nothing.text
        assert labels.doctor_checked in [b["text"] for b in nothing.flat_buttons]
        await ask_again(alice)
        assert "since 30 Nov 2026" in await details(bot, staff, emulator)
        await alice.send("/start")  # a doctor has checked her, late that evening too
        await alice.expect("Please see a doctor today")
        await doctor_has_checked(alice)
        await execute(bot, update(Client).values(safety_cleared_at=late_evening))
        await ask_again(alice)
        assert "doctor checked them on 30 Nov 2026" in await details(bot, staff, emulator)
