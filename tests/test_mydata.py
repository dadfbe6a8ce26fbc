"""/mydata in plain words (dialogs.mydata): labels instead of ids, the client's time zone,
valid Telegram HTML, and messages within Telegram's length cut only between blocks."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dialogs import mydata
from dialogs.questionnaire import Answers, load_questionnaire
from dialogs.safety import Safety
from dialogs.scoring import score
from dialogs.telegram_html import MAX_TEXT, check_message_html, parse_html, utf16_len

Q = load_questionnaire()
LONDON = ZoneInfo("Europe/London")
AT = datetime(2026, 7, 1, 8, 30, tzinfo=UTC)  # 09:30 in London (BST), 10:30 in Berlin


def full_answers(prefer: tuple[str, ...] = ("gt3m",)) -> Answers:
    """Every question answered: no red flag, a preferred option where it is offered."""
    answers: list[tuple[str, str]] = []
    while (question := Q.current(tuple(answers))) is not None:
        options = [o for o in question.options if not o.red_flag]
        chosen = next((o for o in options if o.id in prefer), options[-1])
        answers.append((question.id, chosen.id))
    return tuple(answers)


def facts(**changes: object) -> mydata.Facts:
    answers = full_answers()
    base = {
        "first_name": "Alice",
        "username": "alice",
        "since": AT,
        "health_consent": True,
        "health_consent_at": AT,
        "tips_consent": True,
        "tips_consent_at": AT,
        "check": mydata.Check("completed", AT, answers, score(Q, answers).as_json()),
    }
    base.update(changes)
    return mydata.Facts(**base)  # type: ignore[arg-type]


def text_of(messages: list[str]) -> str:
    return "\n".join(parse_html(m).text for m in messages)


def test_answers_are_words_not_ids() -> None:
    messages = mydata.summary(facts(), Q, LONDON)
    shown = text_of(messages)
    assert "More than 3 months" in shown  # the label of duration=gt3m
    assert "How long have you had this back pain?" in shown
    assert "\n\n➜" not in shown, "each answer right under its question, safety ones too"
    for code in ("gt3m", "rf_saddle", "rf_nerves", "duration", "offset_seconds", "strong"):
        assert code not in shown
    assert "/delete" in shown
    for message in messages:
        check_message_html(message)


def test_result_band_services_and_safety_in_words() -> None:
    safety = Safety("C", "worsening", Q.tier_c["worsening"], AT)
    shown = text_of(mydata.summary(facts(safety=safety), Q, LONDON))
    result = score(Q, full_answers())
    band = next(b.text for b in Q.bands if b.id == result.band)
    assert parse_html(band).text in shown
    for service in result.services:
        assert Q.services[service].name in shown
    assert "bookable, a GP check suggested, because of pain that keeps getting worse" in shown


def test_a_red_flag_check_and_no_check() -> None:
    red = mydata.Check("red_flag", AT, (("rf_nerves", "saddle"),), None, "A")
    held = Safety("A", "saddle", Q.symptoms.get("saddle", "numbness"), AT)
    shown = text_of(mydata.summary(facts(check=red, safety=held), Q, LONDON))
    assert "stopped early" in shown and "urgent care first" in shown
    assert "Until you tell me a doctor has checked you" in shown
    none = text_of(mydata.summary(facts(check=None), Q, LONDON))
    assert "haven't finished a self-check" in none


def test_times_in_the_clients_zone_else_the_clinics() -> None:
    plan = mydata.Plan("active", "1111100", 9 * 60, 17 * 60, 5400, "Europe/Berlin")
    shown = text_of(mydata.summary(facts(plan=plan), Q, LONDON))
    assert "Times are in Europe/Berlin" in shown and "01 Jul 2026, 10:30" in shown
    assert "Monday, Tuesday, Wednesday, Thursday, Friday" in shown
    assert "09:00 to 17:00" in shown and "every 90 minutes" in shown
    assert "every 90 minutes\n• Time zone: Europe/Berlin" in shown, "one list, no gap"
    clinic = text_of(mydata.summary(facts(), Q, LONDON))
    assert "Times are in Europe/London" in clinic and "01 Jul 2026, 09:30" in clinic
    assert "Movement-break reminders: off" in clinic
    setup = mydata.Plan("setup", "1111100", 9 * 60, 17 * 60, 3600, "Asia/Tokyo")
    assert "Times are in Europe/London" in text_of(mydata.summary(facts(plan=setup), Q, LONDON))
    night = mydata.Plan("paused", "0000011", 22 * 60, 6 * 60, 3600, "UTC")
    shown = text_of(mydata.summary(facts(plan=night), Q, LONDON))
    assert "22:00 to 06:00 (overnight)" in shown and "Saturday, Sunday" in shown


def test_names_full_of_markup_stay_text() -> None:
    name = '<b>Bob & "Co"</b>'
    messages = mydata.summary(facts(first_name=name, username=None), Q, LONDON)
    for message in messages:
        check_message_html(message)
    assert name in text_of(messages)


@pytest.mark.parametrize("limit", [MAX_TEXT, 1500, 600])
def test_long_summaries_are_split_between_blocks(limit: int) -> None:
    messages = mydata.summary(facts(first_name="🦵" * 64), Q, LONDON, limit=limit)
    assert len(messages) >= (2 if limit < MAX_TEXT else 1)
    for message in messages:
        assert utf16_len(parse_html(message).text) <= limit
        assert utf16_len(message) <= limit
        check_message_html(message)
    whole = text_of(mydata.summary(facts(first_name="🦵" * 64), Q, LONDON, limit=10**6))
    assert [line for line in text_of(messages).splitlines() if line] == [
        line for line in whole.splitlines() if line
    ], "nothing lost or cut"


def test_pack_keeps_whole_blocks_and_a_block_too_long_becomes_plain_text() -> None:
    blocks = ["<b>one</b>", "<i>two</i>", "<b>" + "x & y " * 50 + "</b>"]
    packed = mydata.pack(blocks, limit=100)
    assert packed[0] == "<b>one</b>\n\n<i>two</i>"
    assert len(packed) > 2
    for message in packed:
        assert utf16_len(message) <= 100
        check_message_html(message, limit=100)
    assert "".join(parse_html(m).text for m in packed[1:]) == "x & y " * 50
