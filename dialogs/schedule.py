"""When movement-break prompts fall due: pure maths over a client's working hours.

A client's prompts sit on a grid in their own time zone: on each working day, at the window's
start plus a stable per-client offset, then every interval, while still inside the window.
Local times that do not exist (the hour skipped when clocks go forward) are left out; local
times that happen twice (when clocks go back) count once, the first time. Everything here is a
function of its arguments: no clock, no database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MONDAY_TO_FRIDAY = frozenset(range(5))
SEARCH_DAYS = 15  # a working day is at most a week away; two weeks covers any window


@dataclass(frozen=True)
class Window:
    """A client's working hours. `days` are 0 (Monday) to 6 (Sunday); `start` < `end`."""

    days: frozenset[int]
    start: time
    end: time
    interval: timedelta
    zone: ZoneInfo
    offset: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("a window ends after it starts")
        if self.interval <= timedelta(0):
            raise ValueError("the interval is positive")


def stable_offset(key: int, interval: timedelta) -> timedelta:
    """The same offset in [0, interval) for the same client and interval, spread evenly
    across clients, so an interval's prompts do not all fall at its start."""
    digest = hashlib.blake2b(str(key).encode(), digest_size=8).digest()
    span = int(interval.total_seconds())
    return timedelta(seconds=int.from_bytes(digest, "big") % span) if span else timedelta(0)


def local(moment: datetime, window: Window) -> datetime:
    return moment.astimezone(window.zone)


def _exists(naive: datetime, zone: ZoneInfo) -> bool:
    """False for a wall-clock time skipped by a daylight-saving change."""
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on a day, as an aware UTC moment (the first one, if it repeats)."""
    return datetime.combine(day, clock).replace(tzinfo=zone, fold=0).astimezone(UTC)


def slots_on(
    window: Window, day: date, *, skip_before: datetime | None = None
) -> Iterator[datetime]:
    """The prompt times on one local day, in UTC, earliest first. With `skip_before`, grid
    times that are certainly earlier than it are skipped by arithmetic, not one by one: a short
    interval (seconds, in tests and benchmarks) has tens of thousands of them a day."""
    if day.weekday() not in window.days:
        return
    start = datetime.combine(day, window.start) + window.offset
    end = datetime.combine(day, window.end)
    naive = start
    if skip_before is not None:
        # A wall-clock time g is the UTC moment g - offset(g); if g is earlier than
        # skip_before in the smallest offset of the day, it is earlier in every one.
        earliest = skip_before.replace(tzinfo=None) + _least_offset(day, window.zone)
        if earliest > start:
            naive = start + ((earliest - start) // window.interval) * window.interval
    while naive < end:
        if _exists(naive, window.zone):
            yield naive.replace(tzinfo=window.zone, fold=0).astimezone(UTC)
        naive += window.interval


def _least_offset(day: date, zone: ZoneInfo) -> timedelta:
    """The smallest UTC offset the zone has on a local day (clocks change at most once)."""
    edges = (datetime.combine(day, time()), datetime.combine(day + timedelta(days=1), time()))
    return min(
        edge.replace(tzinfo=zone, fold=fold).utcoffset() or timedelta(0)
        for edge in edges
        for fold in (0, 1)
    )


def next_slot(
    window: Window, after: datetime, *, not_before: datetime | None = None
) -> datetime | None:
    """The first prompt time strictly after `after` and no earlier than `not_before` (used to
    keep a full interval after the last prompt). None when the window has no working days."""
    floor = after if not_before is None or not_before <= after else not_before
    first_day = local(after, window).date()
    for offset in range(SEARCH_DAYS):
        for slot in slots_on(window, first_day + timedelta(days=offset), skip_before=floor):
            if slot > after and slot >= floor:
                return slot
    return None


def window_bounds(window: Window, day: date) -> tuple[datetime, datetime]:
    """The window on a local day, as UTC moments (even on a day off)."""
    return _at(day, window.start, window.zone), _at(day, window.end, window.zone)


def inside(window: Window, moment: datetime) -> bool:
    """Whether a moment is within the window on a working day."""
    day = local(moment, window).date()
    if day.weekday() not in window.days:
        return False
    start, end = window_bounds(window, day)
    return start <= moment < end


def end_of_today(window: Window, moment: datetime) -> datetime:
    """Where "pause for today" ends: the end of today's window (or of the moment, if later)."""
    _, end = window_bounds(window, local(moment, window).date())
    return max(end, moment)


def week_summary_time(window: Window, after: datetime) -> datetime | None:
    """When this working week's summary is due: the end of the window on the week's last
    working day (Monday to Sunday, local), or of the next week's if that has passed."""
    if not window.days:
        return None
    day = local(after, window).date()
    monday = day - timedelta(days=day.weekday())
    for week in range(3):
        last = monday + timedelta(weeks=week, days=max(window.days))
        _, end = window_bounds(window, last)
        if end > after:
            return end
    return None


def week_of(window: Window, moment: datetime) -> tuple[date, date]:
    """The local Monday and Sunday of the week a moment falls in."""
    day = local(moment, window).date()
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def streak(window: Window, today: date, active_days: set[date]) -> int:
    """Working days in a row, up to today, with at least one break done. Today counts once
    done; before that the streak runs to yesterday. Days off neither add nor break it."""
    count = 0
    day = today
    if day not in active_days:
        day -= timedelta(days=1)
    for _ in range(400):
        if day.weekday() in window.days:
            if day not in active_days:
                break
            count += 1
        day -= timedelta(days=1)
    return count
