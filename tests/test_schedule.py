"""The schedule maths: windows, days, zones, daylight saving, snooze and pause."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs.schedule import (
    MONDAY_TO_FRIDAY,
    Window,
    end_of_today,
    inside,
    local,
    next_slot,
    shift_day,
    slots_on,
    stable_offset,
    streak,
    week_of,
    week_summary_time,
    window_bounds,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)


def window(**changes: object) -> Window:
    values: dict[str, object] = {
        "days": MONDAY_TO_FRIDAY,
        "start": time(9),
        "end": time(17),
        "interval": HOUR,
        "zone": LONDON,
        "offset": timedelta(minutes=17),
    }
    values.update(changes)
    return Window(**values)  # type: ignore[arg-type]


def at(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def test_a_working_day_on_the_grid() -> None:
    w = window()
    monday = date(2026, 11, 23)
    times = [s.astimezone(LONDON).time() for s in slots_on(w, monday)]
    assert times == [time(h, 17) for h in range(9, 17)]
    assert list(slots_on(w, date(2026, 11, 28))) == []  # Saturday


def test_next_slot_is_strictly_later_and_skips_evenings_and_weekends() -> None:
    w = window()
    assert next_slot(w, at(LONDON, 2026, 11, 23, 8, 0)) == at(LONDON, 2026, 11, 23, 9, 17)
    assert next_slot(w, at(LONDON, 2026, 11, 23, 9, 17)) == at(LONDON, 2026, 11, 23, 10, 17)
    assert next_slot(w, at(LONDON, 2026, 11, 23, 16, 17)) == at(LONDON, 2026, 11, 24, 9, 17)
    assert next_slot(w, at(LONDON, 2026, 11, 27, 16, 30)) == at(LONDON, 2026, 11, 30, 9, 17)
    assert next_slot(window(days=frozenset()), at(LONDON, 2026, 11, 23, 8)) is None


def test_never_two_within_the_interval_after_a_snooze() -> None:
    w = window()
    snoozed_prompt = at(LONDON, 2026, 11, 23, 10, 32)
    following = next_slot(w, snoozed_prompt, not_before=snoozed_prompt + HOUR)
    assert following == at(LONDON, 2026, 11, 23, 12, 17)


def test_the_same_window_in_another_zone() -> None:
    w = window(zone=NEW_YORK)
    first = next_slot(w, at(NEW_YORK, 2026, 11, 23, 8, 0))
    assert first == at(NEW_YORK, 2026, 11, 23, 9, 17)
    assert first == datetime(2026, 11, 23, 14, 17, tzinfo=UTC)


def test_offsets_are_stable_in_range_and_spread() -> None:
    assert stable_offset(42, HOUR) == stable_offset(42, HOUR)
    offsets = [stable_offset(client, HOUR) for client in range(12_000)]
    assert all(timedelta(0) <= o < HOUR for o in offsets)
    per_minute = Counter(int(o.total_seconds() // 60) for o in offsets)
    assert len(per_minute) == 60
    assert max(per_minute.values()) < 2 * min(per_minute.values())  # about 200 each


def test_clocks_going_forward_skip_the_missing_hour() -> None:
    w = window(
        days=frozenset(range(7)),
        start=time(0),
        end=time(4),
        interval=timedelta(minutes=30),
        offset=timedelta(0),
    )
    spring = date(2026, 3, 29)  # 01:00 GMT becomes 02:00 BST
    local_times = [s.astimezone(LONDON).strftime("%H:%M") for s in slots_on(w, spring)]
    assert local_times == ["00:00", "00:30", "02:00", "02:30", "03:00", "03:30"]
    utc = list(slots_on(w, spring))
    assert all(b - a >= timedelta(minutes=30) for a, b in itertools.pairwise(utc))


def test_clocks_going_back_count_the_repeated_hour_once() -> None:
    w = window(
        days=frozenset(range(7)),
        start=time(0),
        end=time(3),
        interval=timedelta(minutes=30),
        offset=timedelta(0),
    )
    autumn = date(2026, 10, 25)  # 02:00 BST becomes 01:00 GMT
    utc = list(slots_on(w, autumn))
    assert len(utc) == len(set(utc)) == 6
    assert all(b - a >= timedelta(minutes=30) for a, b in itertools.pairwise(utc))


def test_working_hours_follow_the_clock_across_daylight_saving() -> None:
    w = window()
    friday_evening = at(LONDON, 2026, 3, 27, 16, 30)  # GMT
    monday = next_slot(w, friday_evening)  # BST from Sunday
    assert monday is not None and monday.astimezone(LONDON).strftime("%a %H:%M") == "Mon 09:17"
    assert monday == datetime(2026, 3, 30, 8, 17, tzinfo=UTC)


def test_inside_the_window() -> None:
    w = window()
    assert inside(w, at(LONDON, 2026, 11, 23, 9, 0))
    assert not inside(w, at(LONDON, 2026, 11, 23, 17, 0))
    assert not inside(w, at(LONDON, 2026, 11, 23, 8, 59))
    assert not inside(w, at(LONDON, 2026, 11, 28, 12, 0))  # Saturday


def test_pause_for_today_and_the_week_summary() -> None:
    w = window()
    now = at(LONDON, 2026, 11, 25, 11, 0)  # Wednesday
    paused = end_of_today(w, now)
    assert paused == at(LONDON, 2026, 11, 25, 17, 0)
    assert next_slot(w, paused) == at(LONDON, 2026, 11, 26, 9, 17)
    assert week_summary_time(w, now) == at(LONDON, 2026, 11, 27, 17, 0)
    assert week_summary_time(w, at(LONDON, 2026, 11, 27, 17, 0)) == at(LONDON, 2026, 12, 4, 17, 0)
    six_days = window(days=frozenset(range(6)))
    assert week_summary_time(six_days, now) == at(LONDON, 2026, 11, 28, 17, 0)


@pytest.mark.parametrize(
    ("active", "today", "expected"),
    [
        ({date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 23)}, date(2026, 11, 24), 3),
        ({date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24)}, date(2026, 11, 24), 3),
        ({date(2026, 11, 18), date(2026, 11, 20), date(2026, 11, 23)}, date(2026, 11, 24), 2),
        (set(), date(2026, 11, 24), 0),
    ],
)
def test_streak_counts_working_days_in_a_row(active: set[date], today: date, expected: int) -> None:
    assert streak(window(), today, active) == expected


def _next_slot_one_by_one(window: Window, after: datetime, floor: datetime) -> datetime | None:
    """The plain definition: every grid time of every day's window (from the day before, whose
    window may run past midnight), in order, the first that fits."""
    first_day = local(after, window).date() - timedelta(days=1)
    for offset in range(16):
        for slot in slots_on(window, first_day + timedelta(days=offset)):
            if slot > after and slot >= floor:
                return slot
    return None


@pytest.mark.parametrize("hours", [(time(0, 30), time(23, 45)), (time(20, 30), time(5, 45))])
@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Australia/Lord_Howe"])
@pytest.mark.parametrize(
    "interval", [timedelta(seconds=7), timedelta(minutes=13), timedelta(hours=1)]
)
def test_next_slot_skips_ahead_to_the_same_answer_as_walking_the_grid(
    zone: str, interval: timedelta, hours: tuple[time, time]
) -> None:
    """Short intervals are skipped to by arithmetic; across the days the clocks change (and
    in Lord Howe, where they move by half an hour), in a day window and in an overnight one
    that the change falls inside, the answer is the walked grid's."""
    rng = random.Random(f"{zone}{interval}{hours}")
    window = Window(
        days=frozenset({0, 1, 2, 3, 4, 6}),
        start=hours[0],
        end=hours[1],
        interval=interval,
        zone=ZoneInfo(zone),
        offset=timedelta(seconds=rng.randrange(int(interval.total_seconds()))),
    )
    # the days clocks change in 2026 in these zones
    change_days = [
        datetime(2026, month, day, tzinfo=UTC)
        for month, day in ((3, 8), (3, 29), (4, 5), (10, 4), (10, 25), (11, 1))
    ]
    for _ in range(60):
        after = rng.choice(change_days) + timedelta(seconds=rng.randrange(-86_400, 2 * 86_400))
        floor = after + timedelta(seconds=rng.choice([0, 0, rng.randrange(4 * 3600)]))
        expected = _next_slot_one_by_one(window, after, floor)
        assert next_slot(window, after, not_before=floor) == expected, (after, floor)


# --- overnight windows (a night shift: 22:00 to 06:00 the next morning) -----------------------


def night(**changes: object) -> Window:
    return window(start=time(22), end=time(6), **changes)


def test_an_overnight_window_runs_into_the_next_morning() -> None:
    w = night()
    assert w.overnight and w.length == timedelta(hours=8)
    assert not window().overnight
    monday = date(2026, 11, 23)
    slots = [s.astimezone(LONDON).strftime("%a %H:%M") for s in slots_on(w, monday)]
    assert slots == ["Mon 22:17", "Mon 23:17"] + [f"Tue 0{h}:17" for h in range(6)]
    friday = [s.astimezone(LONDON) for s in slots_on(w, date(2026, 11, 27))]
    assert friday[-1].strftime("%a %H:%M") == "Sat 05:17", "Friday's shift ends on Saturday"
    assert list(slots_on(w, date(2026, 11, 28))) == []  # Saturday's own window: a day off
    assert window_bounds(w, monday) == (at(LONDON, 2026, 11, 23, 22), at(LONDON, 2026, 11, 24, 6))
    with pytest.raises(ValueError):
        window(start=time(6), end=time(6))


def test_inside_an_overnight_window_and_at_the_weekend_edges() -> None:
    w = night()  # Monday to Friday nights
    assert inside(w, at(LONDON, 2026, 11, 23, 22, 0))  # Monday night
    assert not inside(w, at(LONDON, 2026, 11, 23, 21, 59))
    assert inside(w, at(LONDON, 2026, 11, 24, 2, 0))  # Monday's shift, Tuesday morning
    assert not inside(w, at(LONDON, 2026, 11, 24, 6, 0))
    assert inside(w, at(LONDON, 2026, 11, 28, 5, 59))  # Friday's shift, Saturday morning
    assert not inside(w, at(LONDON, 2026, 11, 28, 23, 0))  # Saturday night: off
    assert not inside(w, at(LONDON, 2026, 11, 29, 23, 0))  # Sunday night: off
    assert not inside(w, at(LONDON, 2026, 11, 23, 2, 0))  # Monday morning: Sunday was off


def test_next_slot_in_an_overnight_window() -> None:
    w = night()
    assert next_slot(w, at(LONDON, 2026, 11, 24, 3, 0)) == at(LONDON, 2026, 11, 24, 3, 17)
    assert next_slot(w, at(LONDON, 2026, 11, 24, 5, 17)) == at(LONDON, 2026, 11, 24, 22, 17)
    assert next_slot(w, at(LONDON, 2026, 11, 23, 23, 17)) == at(LONDON, 2026, 11, 24, 0, 17)
    # the weekend: Friday's shift goes on into Saturday, then nothing until Monday night
    assert next_slot(w, at(LONDON, 2026, 11, 28, 4, 30)) == at(LONDON, 2026, 11, 28, 5, 17)
    assert next_slot(w, at(LONDON, 2026, 11, 28, 5, 17)) == at(LONDON, 2026, 11, 30, 22, 17)
    assert next_slot(w, at(LONDON, 2026, 11, 30, 2, 0)) == at(LONDON, 2026, 11, 30, 22, 17)
    weekend_nights = night(days=frozenset({5, 6}))  # Saturday and Sunday nights
    assert next_slot(weekend_nights, at(LONDON, 2026, 11, 30, 1, 0)) == at(
        LONDON, 2026, 11, 30, 1, 17
    ), "Sunday's shift runs into Monday, a day off"


def test_an_overnight_window_across_the_daylight_saving_nights() -> None:
    w = night(days=frozenset(range(7)), interval=timedelta(minutes=30), offset=timedelta(0))
    spring = date(2026, 3, 28)  # Saturday night: 01:00 GMT becomes 02:00 BST
    times = [s.astimezone(LONDON).strftime("%H:%M") for s in slots_on(w, spring)]
    assert times == [
        *("22:00", "22:30", "23:00", "23:30", "00:00", "00:30"),
        *("02:00", "02:30", "03:00", "03:30", "04:00", "04:30", "05:00", "05:30"),
    ]
    start, end = window_bounds(w, spring)
    assert end - start == timedelta(hours=7)
    assert next_slot(w, at(LONDON, 2026, 3, 29, 0, 45)) == datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )  # 02:00 BST, straight after 00:30 GMT
    autumn = date(2026, 10, 24)  # Saturday night: 02:00 BST becomes 01:00 GMT
    utc = list(slots_on(w, autumn))
    assert len(utc) == len(set(utc)) == 16
    assert all(b - a >= timedelta(minutes=30) for a, b in itertools.pairwise(utc))
    start, end = window_bounds(w, autumn)
    assert end - start == timedelta(hours=9)
    assert inside(w, datetime(2026, 10, 25, 1, 30, tzinfo=UTC))  # 01:30 GMT, the second time
    assert end_of_today(w, at(LONDON, 2026, 10, 25, 3, 0)) == datetime(
        2026, 10, 25, 6, 0, tzinfo=UTC
    )


def test_pause_for_today_and_the_week_in_an_overnight_window() -> None:
    w = night()
    assert end_of_today(w, at(LONDON, 2026, 11, 24, 3, 0)) == at(LONDON, 2026, 11, 24, 6, 0)
    assert end_of_today(w, at(LONDON, 2026, 11, 24, 23, 0)) == at(LONDON, 2026, 11, 25, 6, 0)
    assert end_of_today(w, at(LONDON, 2026, 11, 24, 10, 0)) == at(LONDON, 2026, 11, 25, 6, 0)
    # the working day a moment counts for: a shift is one day, up to its end
    assert shift_day(w, at(LONDON, 2026, 11, 24, 2, 0)) == date(2026, 11, 23)
    assert shift_day(w, at(LONDON, 2026, 11, 24, 6, 0)) == date(2026, 11, 23)
    assert shift_day(w, at(LONDON, 2026, 11, 24, 7, 0)) == date(2026, 11, 24)
    assert shift_day(w, at(LONDON, 2026, 11, 23, 2, 0)) == date(2026, 11, 23)  # Sunday off
    # the week's summary comes when Friday's shift ends, on Saturday morning
    wednesday = at(LONDON, 2026, 11, 25, 12, 0)
    assert week_summary_time(w, wednesday) == at(LONDON, 2026, 11, 28, 6, 0)
    assert week_summary_time(w, at(LONDON, 2026, 11, 28, 6, 0)) == at(LONDON, 2026, 12, 5, 6, 0)
    every_night = night(days=frozenset(range(7)))
    monday_early = at(LONDON, 2026, 11, 30, 3, 0)  # still in Sunday's shift
    sunday_end = at(LONDON, 2026, 11, 30, 6, 0)
    assert week_summary_time(every_night, monday_early) == sunday_end
    assert week_of(every_night, sunday_end) == (date(2026, 11, 23), date(2026, 11, 29))
    assert week_of(every_night, at(LONDON, 2026, 11, 30, 7, 0))[0] == date(2026, 11, 30)


def test_skipping_ahead_in_an_overnight_window_as_the_clocks_go_back() -> None:
    """The arithmetic skip must use the smallest offset of both days a night spans: on
    Sunday 25 October 2026, 01:00-02:00 happens twice in London (BST, then GMT)."""
    w = night(days=frozenset(range(7)), interval=timedelta(seconds=7), offset=timedelta(0))
    for minute in range(0, 180, 10):
        after = datetime(2026, 10, 25, 0, 0, tzinfo=UTC) + timedelta(minutes=minute)
        assert next_slot(w, after) == _next_slot_one_by_one(w, after, after), after
    after = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT, the second time round
    assert next_slot(w, after) == datetime(2026, 10, 25, 2, 0, 6, tzinfo=UTC)
