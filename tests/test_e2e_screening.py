"""The client's path end to end: the real bot, over HTTP, against the emulator."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs.clinic import shipped_clinic
from dialogs.content import load_content
from dialogs.render import labels
from storage.models import Answer, Client, Event, Screening
from tests.flows import LABELS, Q, answer, answer_all, rows, start_and_consent


async def test_command_menu_is_set_at_start(bot: RunningBot, emulator: BotApiEmulator) -> None:
    names = [c["command"] for c in emulator.commands]
    for name in ("start", "help", "human", "privacy", "mydata", "delete", "cancel"):
        assert name in names


async def test_full_screening_ends_with_a_result_and_booking_links(
    bot: RunningBot, alice: SimUser
) -> None:
    first = await start_and_consent(alice)
    assert "Question 1 of 21" in first.shown_text
    result = await answer_all(alice)
    text = result.shown_text
    assert "Your self-check result" in text
    assert "You showed all 5 lazy-glute signs" in text
    assert "Pain Eliminator" in text and "TNT Treatment and Training" in text
    assert "Deep Tissue Laser" in text  # pain 6/10
    assert "Movement breaks help" in text
    assert "not a diagnosis" in text
    assert text.rstrip().endswith("go to emergency care at once.")
    booking = alice.url_of("Book Pain Eliminator")
    query = parse_qs(urlsplit(booking).query)
    assert set(query) == {"ref", "utm_source", "utm_medium", "utm_campaign", "utm_content"}
    assert any(b["text"] == labels.talk_to_therapist for b in result.flat_buttons)

    (client,) = await rows(bot, Client)
    assert (client.health_consent, client.tips_consent, client.stage) == (True, True, "idle")
    (screening,) = await rows(bot, Screening)
    assert screening.status == "completed" and screening.key == query["ref"][0]
    assert screening.result["services"] == ["pain_eliminator", "tnt", "laser"]
    answers = await rows(bot, Answer)
    assert len(answers) == 19  # 6 safety + 11 + 2 contraindications (pain under 6 weeks)
    kinds = {e.kind for e in await rows(bot, Event)}
    assert {"client_new", "screening_started", "screening_finished", "booking_shown"} <= kinds


async def test_deep_link_source_is_stored(bot: RunningBot, alice: SimUser) -> None:
    await alice.send("/start instagram_spring-24<script>")
    await alice.expect("Before the self-check")
    (client,) = await rows(bot, Client)
    assert client.source == "instagram_spring-24script"


async def test_red_flag_routes_to_urgent_care_without_booking(
    bot: RunningBot, alice: SimUser
) -> None:
    await start_and_consent(alice)
    await answer(alice, "rf_nerves", "no")
    urgent = await answer(alice, "rf_legs", "legs_weak")
    assert "urgent medical help now" in urgent.shown_text
    assert "999" in urgent.shown_text
    assert [b["text"] for b in urgent.flat_buttons] == [labels.talk_to_therapist]
    (screening,) = await rows(bot, Screening)
    assert (screening.status, screening.red_flag_tier) == ("red_flag", "A")
    assert [(a.question_id, a.option_id) for a in await rows(bot, Answer)] == [
        ("rf_nerves", "no"),
        ("rf_legs", "legs_weak"),
    ]


async def test_back_button_changes_the_previous_answer(bot: RunningBot, alice: SimUser) -> None:
    await start_and_consent(alice)
    await answer(alice, "rf_nerves", "no")
    await answer(alice, "rf_legs", "no")
    await alice.tap(labels.back)
    message = (await alice.next_action()).message
    assert "Question 2 of 21" in message.shown_text
    assert [(a.question_id, a.option_id) for a in await rows(bot, Answer)] == [("rf_nerves", "no")]


async def test_restart_mid_screening_continues_where_they_were(
    settings: Settings, alice: SimUser
) -> None:
    async with RunningBot(settings, poll_timeout=1.0):
        await start_and_consent(alice)
        for question in ("rf_nerves", "rf_legs", "rf_chest"):
            await answer(alice, question, "no")
    # The bot is down; the client taps the next answer meanwhile.
    await alice.tap(LABELS["rf_unwell"]["no"])
    async with RunningBot(settings, poll_timeout=1.0) as bot:
        message = (await alice.next_action()).message
        assert "Question 5 of 21" in message.shown_text
        await alice.send("/start")
        prompt = await alice.expect("part-way through")
        assert "4 of 21" in prompt.shown_text
        await alice.tap(labels.resume)
        await alice.expect("Question 5 of 21")
        result = await answer_all(alice)
        assert "Your self-check result" in result.shown_text
        (screening,) = await rows(bot, Screening)
        assert screening.status == "completed"


async def test_start_over_and_cancel(bot: RunningBot, alice: SimUser) -> None:
    await start_and_consent(alice)
    await answer(alice, "rf_nerves", "no")
    await alice.send("/start")
    await alice.expect("part-way through")
    await alice.tap(labels.start_over)
    await alice.expect("Question 1 of 21")
    await alice.send("/cancel")
    stopped = await alice.expect("Stopped")
    assert "deleted the answers you gave in this self-check" in stopped.shown_text
    screenings = await rows(bot, Screening)
    assert sorted(s.status for s in screenings) == ["cancelled", "cancelled"]
    assert await rows(bot, Answer) == [], "a cancelled screening's answers are erased"
    await alice.tap(labels.new_check)
    await alice.expect("Question 1 of 21")


async def test_declining_health_consent_stores_no_health_data(
    bot: RunningBot, settings: Settings, alice: SimUser
) -> None:
    info = await start_and_consent(alice, health=False, tips=False)
    assert [b["url"] for b in info.flat_buttons if "url" in b] == [shipped_clinic().website]
    assert await rows(bot, Screening) == []
    (client,) = await rows(bot, Client)
    assert (client.health_consent, client.tips_consent) == (False, False)
    await alice.tap(labels.changed_mind)
    await alice.expect("Question 1 of 21")


async def test_a_new_questionnaire_version_does_not_resume_old_answers(
    settings: Settings, alice: SimUser
) -> None:
    async with RunningBot(settings, poll_timeout=1.0):
        await start_and_consent(alice)
        await answer(alice, "rf_nerves", "no")
    edited = Q.model_copy(update={"version": Q.version + 1})
    content = replace(load_content(), questionnaire=edited)
    async with RunningBot(settings, content=content, poll_timeout=1.0) as bot:
        await alice.tap(LABELS["rf_legs"]["no"])  # a button from before the change
        await alice.expect_silence(0.5)
        await alice.send("/start")
        await alice.expect("Welcome back")
        (screening,) = await rows(bot, Screening)
        assert screening.status == "cancelled" and await rows(bot, Answer) == []
        await alice.tap(labels.new_check)
        await alice.expect("Question 1 of 21")


async def test_help_and_cancel_say_the_same_true_thing(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await alice.send("/help")
    shown = (await alice.expect("What I can do")).shown_text
    assert "/cancel: stop the self-check you're in and delete the answers you gave in it" in shown
    assert "/mydata: see everything I store about you, as a message and as a file" in shown
    menu = {c["command"]: c["description"] for c in emulator.commands}
    for name in menu:
        assert f"/{name}" in shown, f"/help lists /{name}"
    assert menu["cancel"] == "Stop the self-check and delete its answers"
    await alice.send("/cancel")
    await alice.expect("nothing to cancel")
    await start_and_consent(alice)
    await answer(alice, "rf_nerves", "no")
    (before,) = await rows(bot, Screening)
    await alice.send("/cancel")
    stopped = await alice.expect("Stopped")
    assert "your earlier results and your choices are kept" in stopped.shown_text
    assert await rows(bot, Answer) == [], "what it says: the answers are gone"
    (client,) = await rows(bot, Client)
    assert client.health_consent and client.tips_consent, "and the choices are kept"
    assert before.status == "in_progress"
