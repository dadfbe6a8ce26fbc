"""Opening hours (dialogs/opening_hours.py), the settings that carry them, and the pure parts
of the staff inbox (dialogs/inbox.py): what a client is told out of hours, and the list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.settings import ConfigError, load_settings
from dialogs.content import load_content
from dialogs.content_file import ContentError
from dialogs.inbox import PAGE, Entry, after_hours, inbox_view, shared_safety
from dialogs.opening_hours import OpeningHours, parse_week
from dialogs.telegram_html import check_message_html
from tests.content import content_folder, line_of

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
WEEKDAYS = "Mon-Fri 09:00-18:00; Sat 10:00-14:00"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)  # type: ignore[misc]


def test_the_weekly_format_reads_ranges_lists_and_several_periods() -> None:
    week = parse_week("Mon-Fri 09:00-18:00; Sat 10:00-14:00")
    assert week[0] == week[4] == ((540, 1080),) and week[5] == ((600, 840),) and week[6] == ()
    week = parse_week("mon, Wed 9-12, 13:30-17:00; Sun 08.00-24:00")
    assert week[0] == week[2] == ((540, 720), (810, 1020)) and week[1] == ()
    assert week[6] == ((480, 1440),)
    wrapped = parse_week("Sat-Mon 10:00-12:00")  # a range over the weekend
    assert [bool(day) for day in wrapped] == [True, False, False, False, False, True, True]
    assert parse_week("Monday-Friday 09:00-17:00")[4] == ((540, 1020),)
    # Times are read as a client's typed working hours are (dialogs.hours): 9-5 is the day.
    assert parse_week("Mon-Fri 9-5; Sat 10am-2pm, 0300-0400")[0] == ((540, 1020),)
    assert parse_week("Mon-Fri 9-5; Sat 10am-2pm, 0300-0400")[5] == ((180, 240), (600, 840))


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Mon-Fry 09:00-18:00", "'mon-fry' is not a day"),
        ("Mon 18:00-09:00", "'18:00-09:00' is not opening and closing times"),
        ("Mon 09:00-25:00", "is not opening and closing times"),
        ("Mon 09:00-12:00, 11:00-13:00", "Mon has overlapping hours"),
        ("09:00-18:00", "is not days and hours"),
        (" ; ", "is empty"),
    ],
)
def test_wrong_opening_hours_are_named_with_their_line(
    text: str, named: str, tmp_path: Path
) -> None:
    folder = content_folder(tmp_path, clinic={"hours": text})
    with pytest.raises(ContentError) as error:
        load_content(folder)
    (problem,) = error.value.problems
    line = line_of(folder / "clinic.yaml", "hours:")
    assert problem.startswith(f"{folder / 'clinic.yaml'}:{line}: hours: ")
    assert named in problem


def test_holidays_and_the_alert_minutes_are_checked_too(tmp_path: Path) -> None:
    folder = content_folder(tmp_path, clinic={"holidays": ["2026-12-25"]})
    assert load_content(folder).clinic.opening_hours.holidays == {date(2026, 12, 25)}
    folder = content_folder(tmp_path, clinic={"holidays": ["2026-12-24", "25/12/2026"]})
    with pytest.raises(ContentError, match=r"holidays\.1: Input should be a valid date"):
        load_content(folder)
    with pytest.raises(ConfigError, match="HANDOFF_ALERT_MINUTES"):
        load_settings(_env_file=None, handoff_alert_minutes="0")


def test_open_and_next_open_in_the_clinics_own_zone() -> None:
    hours = OpeningHours(parse_week(WEEKDAYS), NEW_YORK)
    # Tuesday 1 December 2026, 08:59 and 09:00 in New York (UTC-5).
    assert not hours.is_open(utc(2026, 12, 1, 13, 59))
    assert hours.is_open(utc(2026, 12, 1, 14, 0))
    assert hours.next_open(utc(2026, 12, 1, 15, 0)) == utc(2026, 12, 1, 15, 0), "open: now"
    # Friday 18:30 local: closed until Saturday 10:00 local.
    assert hours.next_open(local(NEW_YORK, 2026, 12, 4, 18, 30)) == utc(2026, 12, 5, 15, 0)
    # Saturday 14:00 (closing): Monday 09:00; in London that Saturday it is already evening.
    assert hours.next_open(local(NEW_YORK, 2026, 12, 5, 14, 0)) == utc(2026, 12, 7, 14, 0)
    assert not hours.is_open(local(NEW_YORK, 2026, 12, 6, 12, 0)), "Sunday"


def test_holidays_are_closed_all_day() -> None:
    hours = OpeningHours(
        parse_week(WEEKDAYS),
        LONDON,
        frozenset({date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 28)}),
    )
    assert not hours.is_open(local(LONDON, 2026, 12, 25, 11, 0))
    # Christmas Eve after closing: Friday 25th, Saturday 26th and Monday 28th are holidays.
    assert hours.next_open(local(LONDON, 2026, 12, 24, 18, 0)) == local(LONDON, 2026, 12, 29, 9, 0)
    nothing = OpeningHours(parse_week("Sun 10:00-11:00"), LONDON, frozenset({date(2026, 12, 6)}))
    # Only Sundays, and the next one a holiday: a week later.
    assert nothing.next_open(local(LONDON, 2026, 12, 5, 12)) == local(LONDON, 2026, 12, 13, 10)
    closed = OpeningHours(
        parse_week("Sun 10:00-11:00"),
        LONDON,
        frozenset(date(2026, 12, 6) + timedelta(weeks=n) for n in range(60)),
    )
    assert closed.next_open(local(LONDON, 2026, 12, 5)) is None, "no open day in the lookahead"


def test_waiting_counts_only_opening_hours() -> None:
    hours = OpeningHours(parse_week(WEEKDAYS), LONDON, frozenset({date(2026, 12, 7)}))
    # Friday 17:00 to Tuesday 09:30: Friday 1 h, Saturday 4 h, Monday a holiday, Tuesday 30 min.
    waited = hours.open_time_between(
        local(LONDON, 2026, 12, 4, 17), local(LONDON, 2026, 12, 8, 9, 30)
    )
    assert waited == timedelta(hours=5, minutes=30)
    assert hours.open_time_between(
        local(LONDON, 2026, 12, 6, 1), local(LONDON, 2026, 12, 6, 23)
    ) == (timedelta(0))
    assert hours.open_time_between(utc(2026, 12, 8, 12), utc(2026, 12, 8, 11)) == timedelta(0)


def test_daylight_saving_moves_the_instants_not_the_hours_on_the_door() -> None:
    hours = OpeningHours(parse_week("Mon-Fri 09:00-17:00; Sun 00:00-24:00"), LONDON)
    # 09:00 in London is 09:00 UTC in winter and 08:00 UTC in summer.
    assert hours.next_open(utc(2026, 3, 27, 20)) == utc(2026, 3, 29, 0)  # Sunday, GMT
    assert hours.next_open(utc(2026, 3, 29, 23, 30)) == utc(2026, 3, 30, 8)  # Monday, BST
    assert hours.is_open(utc(2026, 3, 30, 8, 0)) and not hours.is_open(utc(2026, 3, 30, 7, 59))
    assert hours.next_open(utc(2026, 10, 26, 0, 30)) == utc(2026, 10, 26, 9)  # back to GMT
    # The Sunday the clocks go forward has 23 hours; the one they go back, 25.
    spring = hours.open_time_between(local(LONDON, 2026, 3, 29), local(LONDON, 2026, 3, 30))
    autumn = hours.open_time_between(local(LONDON, 2026, 10, 25), local(LONDON, 2026, 10, 26))
    assert (spring, autumn) == (timedelta(hours=23), timedelta(hours=25))
    # Sydney's clocks go forward on 4 October 2026: 09:00 is 23:00 UTC before, 22:00 after.
    sydney = OpeningHours(parse_week("Mon-Fri 09:00-17:00"), SYDNEY)
    assert sydney.next_open(utc(2026, 10, 1, 7)) == utc(2026, 10, 1, 23)  # Friday, AEST
    assert sydney.next_open(utc(2026, 10, 2, 7)) == utc(2026, 10, 4, 22)  # Monday, AEDT


def test_out_of_hours_the_client_is_told_when_in_clinic_time_once_a_night() -> None:
    hours = OpeningHours(parse_week(WEEKDAYS), NEW_YORK)
    assert after_hours(hours, local(NEW_YORK, 2026, 12, 1, 10)) == "", "open: nothing to add"
    night = after_hours(hours, local(NEW_YORK, 2026, 12, 7, 22))  # Monday night
    assert "closed now; we will answer when it opens, tomorrow at 09:00" in night
    assert "(clinic time, America/New_York)" in night
    early = local(NEW_YORK, 2026, 12, 8, 6)  # Tuesday 06:00: later the same day
    assert "when it opens, today at 09:00" in after_hours(hours, early)
    friday = after_hours(hours, local(NEW_YORK, 2026, 12, 4, 19))
    assert "when it opens, on Saturday at 10:00" not in friday, "Saturday is tomorrow"
    assert "when it opens, tomorrow at 10:00" in friday
    sunday = after_hours(hours, local(NEW_YORK, 2026, 12, 5, 15))  # Saturday after closing
    assert "when it opens, on Monday at 09:00" in sunday
    # Told at 22:00 on Monday: not again that night; again the next night.
    told = local(NEW_YORK, 2026, 12, 7, 22)
    assert hours.last_close(early) == local(NEW_YORK, 2026, 12, 7, 18)
    assert after_hours(hours, early, told_at=told) == ""
    assert after_hours(hours, local(NEW_YORK, 2026, 12, 8, 19), told_at=told) != ""
    assert after_hours(hours, early, told_at=local(NEW_YORK, 2026, 12, 7, 17)) != "", "open then"
    far = OpeningHours(
        parse_week(WEEKDAYS), NEW_YORK, frozenset({date(2026, 12, 8), date(2026, 12, 9)})
    )
    long_break = OpeningHours(
        far.week, NEW_YORK, far.holidays | {date(2026, 12, d) for d in range(10, 20)}
    )
    later = after_hours(long_break, local(NEW_YORK, 2026, 12, 7, 22))
    assert "on Monday 21 December at 09:00" in later, "over a week away: the date too"


def entry(
    n: int,
    minutes_ago: int,
    tier: str | None = "none",
    taken: int | None = None,
    answered_after: int | None = None,
) -> Entry:
    since = utc(2026, 12, 1, 12) - timedelta(minutes=minutes_ago)
    answered = since + timedelta(minutes=answered_after) if answered_after is not None else None
    name, taker = f"<Client {n}> & co", "Sam" if taken else None
    return Entry(n, 100 + n, name, since, tier, taken, taker, answered)


def test_the_inbox_shows_urgent_first_then_the_longest_waiting_within_telegrams_limits() -> None:
    now = utc(2026, 12, 1, 12)
    entries = [entry(1, 5), entry(2, 130), entry(3, 20, "B"), entry(4, 10, "A", taken=7)]
    text, buttons, shown = inbox_view(entries, 0, now, NEW_YORK, viewer=7)
    assert [e.client_id for e in shown] == [104, 103, 102, 101]
    check_message_html(text)  # the names' < > & are escaped
    order = [text.index(f"Client {n}") for n in (4, 3, 2, 1)]
    assert order == sorted(order), text
    assert "URGENT, tier A" in text and "URGENT, tier B" in text
    assert "&lt;Client 2&gt; &amp; co" in text and "waiting 2 h 10 min" in text
    assert "since Tue 01 Dec, 04:50" in text, "clinic time: 09:50 UTC is 04:50 in New York"
    assert "taken by you" in text and "America/New_York" in text
    assert [b.data for b in buttons[0]] == ["ib:take:4:0", "ib:reply:4:0", "ib:close:4:0"]
    many = [entry(n, n) for n in range(1, 60)]
    text, buttons, _ = inbox_view(many, 1, now, LONDON, viewer=None)
    check_message_html(text)
    assert "Open requests: 59" in text and "page 2 of 8" in text
    assert sum(len(row) for row in buttons) <= 100 and len(buttons) == PAGE + 1
    assert [b.data for b in buttons[-1]] == ["ib:p:0", "ib:p:2"]
    empty, no_buttons, _ = inbox_view([], 3, now, LONDON, viewer=None)
    assert "Nothing waiting" in empty and no_buttons == ()


def test_the_inbox_shows_the_safety_status_the_client_shared_whatever_it_is() -> None:
    since, now = utc(2026, 12, 1, 11), utc(2026, 12, 1, 12)
    earlier, later = since - timedelta(days=3), since + timedelta(minutes=5)
    assert shared_safety("C", earlier, True, since) == "C"
    assert shared_safety(None, None, True, since) == "none"
    assert shared_safety("B", earlier, False, since) is None, "not shared with the request"
    assert shared_safety("A", later, False, since) == "A", "told to the team after asking"
    assert shared_safety("C", later, False, since) is None
    entries = [entry(1, 5, "C"), entry(2, 6, None), entry(3, 7, "none")]
    text, _, _ = inbox_view(entries, 0, now, LONDON, viewer=None)
    lines = {
        n: next(line for line in text.splitlines() if f"waiting {m} min" in line)
        for n, m in ((1, 5), (2, 6), (3, 7))
    }
    assert "tier C: a GP check suggested" in lines[1]
    assert "safety status not shared" in lines[2]
    assert "no red flags reported" in lines[3]


def test_an_answered_request_stops_waiting() -> None:
    now = utc(2026, 12, 1, 12)
    text, _, _ = inbox_view([entry(1, 30, answered_after=3)], 0, now, LONDON, viewer=None)
    assert "answered after 3 min" in text and "waiting" not in text
