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
    slots_on,
    stable_offset,
    streak,
    week_summary_time,
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
    """The plain definition: every grid time of every day, in order, the first that fits."""
    first_day = local(after, window).date()
    for offset in range(15):
        for slot in slots_on(window, first_day + timedelta(days=offset)):
            if slot > after and slot >= floor:
                return slot
    return None


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Australia/Lord_Howe"])
@pytest.mark.parametrize(
    "interval", [timedelta(seconds=7), timedelta(minutes=13), timedelta(hours=1)]
)
def test_next_slot_skips_ahead_to_the_same_answer_as_walking_the_grid(
    zone: str, interval: timedelta
) -> None:
    """Short intervals are skipped to by arithmetic; across the days the clocks change (and
    in Lord Howe, where they move by half an hour) the answer is the walked grid's."""
    rng = random.Random(f"{zone}{interval}")
    window = Window(
        days=frozenset({0, 1, 2, 3, 4, 6}),
        start=time(0, 30),
        end=time(23, 45),
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
