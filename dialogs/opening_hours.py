"""The clinic's opening hours: when it is open, when it next opens, and how much opening time
lies between two instants (how long a client has waited, counting only the hours someone is
there to answer). Pure: no clock, no database.

Hours are written as people write them on a door: `Mon-Fri 09:00-18:00; Sat 10:00-14:00`
(days as ranges or lists, several periods a day: `Mon, Wed 09:00-12:00, 13:00-17:00`; `24:00`
ends a day; times are read as `dialogs.hours` reads a client's working hours, so `9-5` and
`9am-5pm` work too). They are wall-clock times in the clinic's time zone, so a DST change
moves the instants, never the hours on the door: every period is turned into instants day by
day with zoneinfo. Holidays are whole local days closed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from dialogs.hours import clock_range
from dialogs.schedule import at_local

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
# How far ahead `next_open` looks: a year of holidays is a closed clinic, not a long weekend.
LOOKAHEAD_DAYS = 400

Period = tuple[int, int]  # (start, end) minutes after local midnight, start < end <= 1440
Week = tuple[tuple[Period, ...], ...]  # seven days, Monday first

_ENTRY_RE = re.compile(r"^(?P<days>[a-z][a-z\s,\-–]*?)\s*(?P<periods>\d[\d:.\s,\-–aphm]*)$")


def parse_week(text: str) -> Week:
    """The weekly hours from `Mon-Fri 09:00-18:00; Sat 10:00-14:00`. Raises ValueError with
    a message naming the part that is wrong (shown to whoever set CLINIC_HOURS)."""
    week: list[list[Period]] = [[] for _ in DAYS]
    entries = [part.strip() for part in text.strip().casefold().split(";") if part.strip()]
    if not entries:
        raise ValueError("is empty: write the opening hours, e.g. Mon-Fri 09:00-18:00")
    for entry in entries:
        match = _ENTRY_RE.match(entry)
        if match is None:
            raise ValueError(
                f"{entry!r} is not days and hours such as 'Mon-Fri 09:00-18:00' "
                "or 'Sat 10:00-14:00'"
            )
        days = _days(match["days"], entry)
        periods = [_period(part.strip(), entry) for part in match["periods"].split(",")]
        for day in days:
            week[day].extend(periods)
    for day, periods in enumerate(week):
        periods.sort()
        for (_, end), (start, _) in pairwise(periods):
            if start < end:
                raise ValueError(f"{DAYS[day].title()} has overlapping hours")
    return tuple(tuple(periods) for periods in week)


def _days(text: str, entry: str) -> list[int]:
    """Day numbers (Monday 0) from `mon-fri`, `mon, wed, fri`, `sat-mon` (wrapping)."""
    found: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        ends = [end.strip()[:3] for end in re.split(r"[-–]", part)]
        if not part or len(ends) > 2 or any(end not in DAYS for end in ends):
            raise ValueError(
                f"{entry!r}: {part!r} is not a day or a range of days (Mon, Tue, Wed, Thu, "
                "Fri, Sat, Sun; e.g. Mon-Fri)"
            )
        first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])
        found.extend((first + step) % 7 for step in range((last - first) % 7 + 1))
    return found


def _period(text: str, entry: str) -> Period:
    """One opening period, its times read as a client's typed working hours are
    (`dialogs.hours.clock_range`: 09:00, 9, 9.00, 0900, 9am), within one day."""
    hours = clock_range(text)
    if hours is not None:
        start, end = hours
        if start < end <= DAY_MINUTES:
            return start, end
    raise ValueError(
        f"{entry!r}: {text!r} is not opening and closing times such as 09:00-18:00 "
        "(the same day, opening first; 24:00 for midnight)"
    )


@dataclass(frozen=True)
class OpeningHours:
    """The week's hours in the clinic's zone, with its holidays. Instants in and out are
    aware datetimes (any zone); results are in UTC."""

    week: Week
    zone: ZoneInfo
    holidays: frozenset[date] = frozenset()

    def periods(self, first: date, last: date) -> Iterator[tuple[datetime, datetime]]:
        """The open periods of the local days `first` to `last`, as UTC instants, in order."""
        day = first
        while day <= last:
            if day not in self.holidays:
                for start, end in self.week[day.weekday()]:
                    yield self._instant(day, start), self._instant(day, end)
            day += timedelta(days=1)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone).date()
        return any(start <= at < end for start, end in self.periods(local, local))

    def next_open(self, at: datetime) -> datetime | None:
        """When the clinic is next open from `at`: `at` itself while open; None if it stays
        closed for LOOKAHEAD_DAYS (the hours and holidays leave no open day)."""
        local = at.astimezone(self.zone).date()
        last = local + timedelta(days=LOOKAHEAD_DAYS)
        for start, end in self.periods(local, last):
            if end > at:
                return max(start, at).astimezone(UTC)
        return None

    def last_close(self, at: datetime) -> datetime | None:
        """When the clinic last closed at or before `at` (the end of its latest open period
        by then), a week at a time backwards; None if not open in the LOOKAHEAD_DAYS before."""
        day = at.astimezone(self.zone).date()
        oldest = day - timedelta(days=LOOKAHEAD_DAYS)
        while day >= oldest:
            ends = [end for _, end in self.periods(day - timedelta(days=6), day) if end <= at]
            if ends:
                return max(ends)
            day -= timedelta(days=7)
        return None

    def open_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How much of `start`..`end` the clinic is open (zero if `end` is not later)."""
        if end <= start:
            return timedelta(0)
        first = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        total = timedelta(0)
        for opens, closes in self.periods(first, last):
            overlap = min(closes, end) - max(opens, start)
            if overlap > timedelta(0):
                total += overlap
        return total

    def _instant(self, day: date, minute: int) -> datetime:
        """A wall-clock time of a local day as a UTC instant (24:00: the next midnight). A
        time the clocks skip reads as the moment after the change; a repeated one, the first."""
        day, minute = (day + timedelta(days=1), 0) if minute == DAY_MINUTES else (day, minute)
        return at_local(day, time(minute // 60, minute % 60), self.zone)
