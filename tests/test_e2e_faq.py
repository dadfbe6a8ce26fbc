"""Everyday questions ("how much is it?", "where are you?", "are you open on Saturday?", "do
you take insurance?") answered from the clinic's content, typed or tapped under /help, and
never instead of the emergency advice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.runner import RunningBot
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs.clinic import shipped_clinic
from dialogs.render import labels
from storage.models import utcnow
from tests.content import content_folder
from tests.flows import answer_all, start_and_consent
from tests.test_e2e_crisis import GENERIC


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is tested here is the content, which no database changes (the
    suite's other end-to-end tests run on PostgreSQL too)."""
    return f"sqlite:///{tmp_path / 'bmx.db'}"


CLINIC = shipped_clinic()


def links(message: object) -> dict[str, str]:
    return {b["text"]: b["url"] for b in message.flat_buttons if "url" in b}  # type: ignore[attr-defined]


async def test_typed_everyday_questions_get_the_clinics_answers(
    bot: RunningBot, alice: SimUser
) -> None:
    await alice.send("Hi, how much is it?")  # before any /start: a new client may ask too
    prices = await alice.expect("Our services")
    for service in CLINIC.services.values():
        assert service.name in prices.shown_text
        assert f"📅 Book {service.name}" in links(prices)
    assert links(prices)[labels.website] == CLINIC.website

    await alice.send("where are you exactly?")
    where = await alice.expect(CLINIC.name)
    assert CLINIC.address is not None and CLINIC.address in where.shown_text
    assert links(where)[labels.faq_map] == CLINIC.map_url

    await alice.send("Are you open on Saturday?")
    hours = await alice.expect("Opening hours")
    assert "• Saturday: 10:00–14:00" in hours.shown_text
    assert "• Sunday: closed" in hours.shown_text

    await alice.send("do you take insurance???")
    insurance = await alice.expect("insurer")
    assert [b["text"] for b in insurance.flat_buttons] == [labels.faq_team]
    assert GENERIC not in "\n".join(m.shown_text for m in alice.bot_messages())


async def test_help_lists_the_questions_as_buttons_and_a_tap_answers(
    bot: RunningBot, alice: SimUser
) -> None:
    await start_and_consent(alice)
    await answer_all(alice)
    await alice.send("/help")
    shown = await alice.expect("What I can do")
    titles = [b["text"] for b in shown.flat_buttons]
    assert titles == [
        "💷 Prices",
        "📍 Where we are",
        "🕘 Opening hours",
        "🧾 Insurance",
        "🎒 What to bring",
    ]
    await alice.tap("🎒 What to bring", message=shown)
    assert CLINIC.what_to_bring is not None
    await alice.expect(CLINIC.what_to_bring)


async def test_a_question_with_an_emergency_in_it_gets_the_emergency_advice(
    bot: RunningBot, alice: SimUser
) -> None:
    await start_and_consent(alice)
    await answer_all(alice)
    await alice.send("how much is a session? I can't feel my legs since this morning")
    advice = await alice.expect("urgent medical help now")
    await alice.settle(quiet=1.0)
    said = [m.shown_text for m in alice.bot_messages()]
    assert not any("Our services" in text for text in said), "never the price instead"
    await alice.send("How much is it?")
    prices = await alice.expect("Our services")
    assert not [t for t in links(prices) if t.startswith("📅 Book")], "no booking while held"
    assert advice.message_id != prices.message_id


async def test_a_question_nobody_wrote_an_answer_for_gets_one_line_and_the_team(
    bot: RunningBot, alice: SimUser
) -> None:
    await start_and_consent(alice)
    await answer_all(alice)
    await alice.send("What is the meaning of life?")
    hint = await alice.expect(GENERIC)
    assert "/help" in hint.shown_text and len(hint.shown_text.splitlines()) == 1
    assert labels.faq_team in [b["text"] for b in hint.flat_buttons]
    await alice.tap(labels.faq_team, message=hint)
    await alice.expect("team")


async def test_the_opening_hours_answer_names_a_holiday_ahead(
    settings: Settings, alice: SimUser, tmp_path: Path
) -> None:
    holiday = (utcnow().astimezone(CLINIC.zone) + timedelta(days=3)).date()
    folder = content_folder(tmp_path, clinic={"holidays": [holiday.isoformat()]})
    own = settings.model_copy(update={"content_dir": folder})
    async with RunningBot(own, poll_timeout=1.0, settle=False):
        await alice.send("are you open over the holidays?")
        hours = await alice.expect("Opening hours")
    assert f"Closed all day on {holiday.strftime('%A %d %B')}." in hours.shown_text
