"""The weekly pain check-in and /progress, without Telegram: the worsening rule, the buttons'
data, an answer's outcome, weeks in a client's zone, the trend sentence, the chart's size,
and the storage side (claimed once, answered once, the staff's change after 4 weeks)."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from dialogs import progress
from dialogs.callbacks import decode, encode
from dialogs.charts import HEIGHT_PX, WIDTH_PX, progress_chart
from dialogs.progress import Answer, Checkin, Series, answer
from dialogs.render import labels
from dialogs.safety import Safety
from dialogs.schedule import Window, week_of
from storage import progress as checkins
from storage.db import Database
from storage.models import Client, PainCheckin

MONDAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("score", "previous", "worse"),
    [
        (5, None, False),
        (8, None, True),  # high pain, first answer
        (8, 9, True),  # high pain, even if a little less than last time
        (7, 4, True),  # three points up
        (6, 4, False),  # two points up
        (2, 6, False),
        (10, 10, True),
    ],
)
def test_a_sharp_worsening_is_high_pain_or_three_points_up(
    score: int, previous: int | None, worse: bool
) -> None:
    assert progress.sharp_worsening(score, previous) is worse


def test_buttons_carry_the_week_and_the_score_and_forged_data_is_refused() -> None:
    reply = progress.question(MONDAY, "Al <b>&")
    rows = reply.buttons
    assert [b.text for b in rows[0]] == ["0", "1", "2", "3", "4", "5"]
    assert [b.text for b in rows[1]] == ["6", "7", "8", "9", "10"]
    assert rows[2][0].text == labels.checkin_skip
    assert "Al &lt;b&gt;&amp;" in reply.text, "a name is text, not markup"
    for row in rows:
        for button in row:
            assert button.data is not None and len(button.data.encode()) <= 64
            assert decode(button.data) is not None
    assert decode(encode(Answer(MONDAY, 7))) == Answer(MONDAY, 7)
    assert decode("pn:20261130") == Answer(MONDAY, None), "skip this week"
    for forged in ("pn:20261331:3", "pn:2026113:3", "pn::", "", "pn:20261130:-1"):
        assert decode(forged) is None, forged  # no such date, not a date, not a score...
    for forged in ("pn:20261130:11", "pn:20261201:3"):  # out of range, not a Monday
        pressed = decode(forged)
        assert isinstance(pressed, Answer) and not pressed.valid, forged


def test_an_answer_is_recorded_once_and_a_worsening_offers_a_new_self_check() -> None:
    fresh = Checkin(MONDAY)
    calm = answer(fresh, Answer(MONDAY, 4), previous=5, consent=True, safety=Safety())
    assert calm.record and len(calm.replies) == 1, "no offer of a new self-check"
    assert calm.replies[0].replace and "4 out of 10" in calm.replies[0].text

    worse = answer(
        fresh,
        Answer(MONDAY, 8),
        previous=4,
        consent=True,
        safety=Safety(),
        emergency=["numbness between the legs"],
        doctor_today=["a fever"],
    )
    assert worse.record and len(worse.replies) == 2
    offer = worse.replies[1]
    assert offer.buttons[0][0].text == labels.new_check and offer.buttons[0][0].data == "n"
    assert "4 → 8" in offer.text and "999" in offer.text and "a fever" in offer.text

    skipped = answer(fresh, Answer(MONDAY, None), previous=None, consent=True, safety=Safety())
    assert skipped.record and "Skipped" in skipped.replies[0].text

    done = Checkin(MONDAY, 4, answered=True)
    again = answer(done, Answer(MONDAY, 9), previous=None, consent=True, safety=Safety())
    assert not again.record and again.notice == labels.checkin_answered
    gone = answer(None, Answer(MONDAY, 3), previous=None, consent=True, safety=Safety())
    assert not gone.record and gone.notice == labels.checkin_passed
    withdrawn = answer(fresh, Answer(MONDAY, 3), previous=None, consent=False, safety=Safety())
    assert not withdrawn.record and withdrawn.notice == labels.checkin_no_consent


def test_a_held_client_gets_the_urgent_advice_instead_of_a_pain_diary() -> None:
    held = Safety("A", "saddle", "numbness between the legs")
    outcome = answer(Checkin(MONDAY), Answer(MONDAY, 9), previous=2, consent=True, safety=held)
    assert not outcome.record
    assert "999" in outcome.replies[0].text and labels.doctor_checked in str(
        outcome.replies[0].buttons
    )


def test_weeks_are_the_clients_own_in_their_zone() -> None:
    """Sunday 21:00 UTC is already Monday in Auckland, and still Sunday in Chicago: each
    client's week is their own, and a night shift's small hours count for the evening."""
    moment = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)

    def window(zone: str, start: time = time(9), end: time = time(17)) -> Window:
        return Window(frozenset(range(7)), start, end, timedelta(hours=1), ZoneInfo(zone))

    assert week_of(window("Pacific/Auckland"), moment)[0] == MONDAY
    assert week_of(window("America/Chicago"), moment)[0] == MONDAY - timedelta(weeks=1)
    night = window("Europe/London", time(22), time(6))
    monday_2am = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Sunday's shift, still running
    assert week_of(night, monday_2am)[0] == MONDAY - timedelta(weeks=1)

    weeks = progress.weeks_to(MONDAY, 3)
    assert weeks == (date(2026, 11, 16), date(2026, 11, 23), MONDAY)
    breaks = {
        date(2026, 11, 9): 5,  # before the chart: left out
        date(2026, 11, 16): 1,
        date(2026, 11, 22): 2,  # a Sunday: the week of the 16th
        date(2026, 11, 23): 3,
        date(2026, 12, 6): 4,  # Sunday of this week
        date(2026, 12, 7): 9,  # next week: left out
    }
    data = progress.series(weeks, breaks, {date(2026, 11, 23): 6})
    assert data.breaks == (3, 3, 4) and data.pain == (None, 6, None)


def _series(pain: list[int | None], breaks: list[int]) -> Series:
    return Series(progress.weeks_to(MONDAY, len(pain)), tuple(breaks), tuple(pain))


@pytest.mark.parametrize(
    ("pain", "breaks", "sentence"),
    [
        (
            [None, 6, None, 5, 4, None, 3],
            [9, 10, 8, 8, 8, 4, 4],
            "Your back pain went from 6 to 3 over 5 weeks, and you took 42 breaks.",
        ),
        (
            [None, None, None],
            [1, 0, 0],
            "You took 1 break in the last 3 weeks. Answer the weekly check-in",
        ),
        (
            [None, 5, None],
            [3, 2, 1],
            "You rated your back pain 5 out of 10, and you took 3 breaks since.",
        ),
        ([4, 4], [0, 1], "Your back pain stayed at 4 over 1 week, and you took 1 break."),
        ([3, 6], [0, 0], "Your back pain went from 3 to 6 over 1 week, and you took 0 breaks."),
    ],
    ids=["better", "no answer", "one answer", "flat", "worse"],
)
def test_the_trend_in_one_plain_sentence(
    pain: list[int | None], breaks: list[int], sentence: str
) -> None:
    caption = progress.caption(_series(pain, breaks))
    assert caption.startswith(sentence)
    assert len(caption) <= 1024
    worse = "keeps getting worse" in caption
    assert worse == (sentence.startswith("Your back pain went from 3 to 6"))


def test_the_chart_is_a_png_of_the_standard_size() -> None:
    data = progress.series(progress.weeks_to(MONDAY), {MONDAY: 3}, {MONDAY: 4})
    png = progress_chart(
        data.weeks, data.breaks, data.pain, breaks_label="b", pain_label="p", week_label="w"
    )
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (WIDTH_PX, HEIGHT_PX)


def test_claimed_once_answered_once_and_the_change_after_four_weeks(db: Database) -> None:
    now = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    with db.session() as session:
        clients = [Client(telegram_id=n, chat_id=n, first_name=str(n)) for n in (1, 2, 3, 4)]
        session.add_all(clients)
        session.flush()
        one, two, three, four = (c.id for c in clients)
        assert checkins.claim(session, one, MONDAY, now)  # type: ignore[arg-type]
        assert not checkins.claim(session, one, MONDAY, now), "a second claim finds it taken"
        assert checkins.asked(session, one, MONDAY)  # type: ignore[arg-type]
        assert checkins.record(session, one, MONDAY, 6, now)  # type: ignore[arg-type]
        assert not checkins.record(session, one, MONDAY, 2, now), "answered once"  # type: ignore[arg-type]
        # Client 1: 6, then 5 three weeks on, then 3 at the 4-week mark, then 1: counts -3.
        # Client 2: 4, then 6 five weeks on: +2. Client 3: one answer only: not counted.
        # Client 4: skipped the first week, so 5 the week after is the start; 2 at the 4-week
        # mark from it: -3 (a skipped week 4 weeks before that is no start).
        for client, weeks, score in (
            (one, 3, 5),
            (one, 4, 3),
            (one, 6, 1),
            (two, 0, 4),
            (two, 5, 6),
            (three, 0, 7),
            (four, 0, None),
            (four, 1, 5),
            (four, 4, 4),  # 3 weeks after the start: too soon
            (four, 5, 2),
        ):
            week = MONDAY + timedelta(weeks=weeks)
            checkins.claim(session, client, week, now)  # type: ignore[arg-type]
            checkins.record(session, client, week, score, now)  # type: ignore[arg-type]
        checkins.claim(session, two, MONDAY + timedelta(weeks=6), now)  # type: ignore[arg-type]
        checkins.record(session, two, MONDAY + timedelta(weeks=6), None, now)  # type: ignore[arg-type]
        change = checkins.pain_change(session)
        assert change.clients == 3 and change.average == pytest.approx(-4 / 3)
        assert checkins.previous_score(session, one, MONDAY + timedelta(weeks=4)) == 5  # type: ignore[arg-type]
        assert checkins.scores(session, two, MONDAY) == {  # type: ignore[arg-type]
            MONDAY: 4,
            MONDAY + timedelta(weeks=5): 6,
        }
        checkins.unclaim(session, one, MONDAY + timedelta(weeks=3))  # type: ignore[arg-type]
        assert checkins.asked(session, one, MONDAY + timedelta(weeks=3)), "answered: kept"  # type: ignore[arg-type]
        checkins.erase(session, one)  # type: ignore[arg-type]
        left = session.exec(select(PainCheckin.client_id)).all()
        assert one not in left and len(left) == 8
