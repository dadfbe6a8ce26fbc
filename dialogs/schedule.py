"""When movement-break prompts fall due: pure maths over a client's working hours.

A client's prompts sit on a grid in their own time zone: on each working day, at the window's
start plus a stable per-client offset, then every interval, while still inside the window.
A window may cross midnight (a night shift, 22:00 to 06:00): it belongs to the working day it
starts on and runs on into the next morning, whether or not that next day is a working day;
the morning part of a day whose previous day is off has no window.
Local times that do not exist (the hour skipped when clocks go forward) are left out; local
times that happen twice (when clocks go back) count once, the first time. Everything here is a
function of its arguments: no clock, no database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

MONDAY_TO_FRIDAY = frozenset(range(5))
SEARCH_DAYS = 15  # a working day is at most a week away; two weeks covers any window


@dataclass(frozen=True)
class Window:
    """A client's working hours. `days` are 0 (Monday) to 6 (Sunday); `start` after `end`
    means an overnight window (it ends the next morning); they are never equal."""

    days: frozenset[int]
    start: time
    end: time
    interval: timedelta
    zone: ZoneInfo
    offset: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("a window ends at another time than it starts")
        if self.interval <= timedelta(0):
            raise ValueError("the interval is positive")

    @property
    def overnight(self) -> bool:
        """Whether the window crosses midnight (ends the day after it starts)."""
        return self.end < self.start

    @property
    def length(self) -> timedelta:
        """The window's length by the wall clock (a DST change can make one night differ)."""
        start = datetime.combine(date.min, self.start)
        end = datetime.combine(date.min + timedelta(days=self.overnight), self.end)
        return end - start


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


def at_local(day: date, clock: time, zone: tzinfo) -> datetime:
    """A wall-clock time on a day, as an aware UTC moment (the first one, if it repeats)."""
    return datetime.combine(day, clock).replace(tzinfo=zone, fold=0).astimezone(UTC)


def slots_on(
    window: Window, day: date, *, skip_before: datetime | None = None
) -> Iterator[datetime]:
    """The prompt times of the window that starts on a local day, in UTC, earliest first (an
    overnight window's go on past midnight). With `skip_before`, grid times that are certainly
    earlier than it are skipped by arithmetic, not one by one: a short interval (seconds, in
    tests and benchmarks) has tens of thousands of them a day."""
    if day.weekday() not in window.days:
        return
    start = datetime.combine(day, window.start) + window.offset
    end = datetime.combine(_end_day(window, day), window.end)
    naive = start
    if skip_before is not None:
        # A wall-clock time g is the UTC moment g - offset(g); if g is earlier than
        # skip_before in the smallest offset of the window's days, it is earlier in every one.
        least = _least_offset(day, _end_day(window, day), window.zone)
        earliest = skip_before.astimezone(UTC).replace(tzinfo=None) + least
        if earliest > start:
            naive = start + ((earliest - start) // window.interval) * window.interval
    while naive < end:
        if _exists(naive, window.zone):
            yield naive.replace(tzinfo=window.zone, fold=0).astimezone(UTC)
        naive += window.interval


def _end_day(window: Window, day: date) -> date:
    """The local day on which the window that starts on `day` ends."""
    return day + timedelta(days=1) if window.overnight else day


def _least_offset(first: date, last: date, zone: ZoneInfo) -> timedelta:
    """The smallest UTC offset the zone has from the start of local day `first` to the end of
    `last` (clocks change at most once a day, so each day's offsets are its edges')."""
    edges = [
        datetime.combine(first + timedelta(days=n), time()) for n in range((last - first).days + 2)
    ]
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
    # an overnight window that started yesterday may still be running
    first_day = local(after, window).date() - timedelta(days=window.overnight)
    for offset in range(SEARCH_DAYS):
        for slot in slots_on(window, first_day + timedelta(days=offset), skip_before=floor):
            if slot > after and slot >= floor:
                return slot
    return None


def window_bounds(window: Window, day: date) -> tuple[datetime, datetime]:
    """The window that starts on a local day, as UTC moments (even on a day off); an
    overnight window ends on the next day."""
    return (
        at_local(day, window.start, window.zone),
        at_local(_end_day(window, day), window.end, window.zone),
    )


def _running(window: Window, moment: datetime, *, to_end: bool = False) -> date | None:
    """The local day whose working-day window contains the moment (its end too, with
    `to_end`), or None."""
    today = local(moment, window).date()
    for day in (today, today - timedelta(days=1)) if window.overnight else (today,):
        if day.weekday() in window.days:
            start, end = window_bounds(window, day)
            if start <= moment < end or (to_end and moment == end):
                return day
    return None


def inside(window: Window, moment: datetime) -> bool:
    """Whether a moment is within the window of a working day."""
    return _running(window, moment) is not None


def shift_day(window: Window, moment: datetime) -> date:
    """The working day a moment counts for: the day its window started on (02:00 in a
    22:00-06:00 window counts for the evening before, up to and including the window's end),
    otherwise its local date. Breaks, streaks, the ignored-prompt count and the weekly
    summary go by it, so a night shift is one day, not two."""
    running = _running(window, moment, to_end=True)
    return running if running is not None else local(moment, window).date()


def end_of_today(window: Window, moment: datetime) -> datetime:
    """Where "pause for today" ends: the end of the window running now, else of the one that
    starts today (or the moment itself, if that has ended)."""
    _, end = window_bounds(window, shift_day(window, moment))
    return max(end, moment)


def week_summary_time(window: Window, after: datetime) -> datetime | None:
    """When this working week's summary is due: the end of the window of the week's last
    working day (Monday to Sunday, local; an overnight one ends the next morning), or of the
    next week's if that has passed."""
    if not window.days:
        return None
    day = shift_day(window, after)
    monday = day - timedelta(days=day.weekday())
    for week in range(3):
        last = monday + timedelta(weeks=week, days=max(window.days))
        _, end = window_bounds(window, last)
        if end > after:
            return end
    return None


def week_of(window: Window, moment: datetime) -> tuple[date, date]:
    """The local Monday and Sunday of the week a moment's working day (`shift_day`) is in."""
    day = shift_day(window, moment)
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
