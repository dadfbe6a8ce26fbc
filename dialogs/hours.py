"""Working hours from what a client types: "06:30-22:00", "6:30 to 22", "9-17", "9am-5pm",
"21.00–05.30", "0900-1700". Pure: no clock, no database.

`parse_hours(text)` gives (start, end) in minutes after midnight, or None. An end earlier
than the start is an overnight window ("22:00-06:00": from 22:00 until 06:00 the next
morning); "24:00" as an end is midnight (0). A start equal to the end is refused. With am/pm
on the end only ("9-5pm", "1-5pm"), the start takes the same half of the day when that puts
it before the end (1-5pm is 13:00-17:00), otherwise it is read on the 24-hour clock.
Without am/pm, an end before a morning start is read as the afternoon: "9-5" is 09:00-17:00
(a night shift is "21-5", "21:00-05:00" or "9pm-5am").
"""

from __future__ import annotations

import re

MAX_TYPED = 64

_TIME = r"(?P<{0}h>\d{{1,2}})(?:\s*[:.h]\s*(?P<{0}m>\d{{2}})|\s*h)?\s*(?P<{0}x>[ap]\.?\s*m\.?)?"
_FOUR = r"(?P<{0}4>\d{{4}})"
_PART = r"(?:{four}|{time})"
_RANGE = re.compile(
    r"^(?:from\s+)?"
    + _PART.format(four=_FOUR.format("a"), time=_TIME.format("a"))
    + r"\s*(?:-|–|—|to|till|until)\s*"
    + _PART.format(four=_FOUR.format("b"), time=_TIME.format("b"))
    + r"$"
)


def parse_hours(text: str) -> tuple[int, int] | None:
    """The working hours typed, as (start, end) minutes after midnight, or None."""
    read = clock_range(text)
    if read is None:
        return None
    start_minutes, end_minutes = read
    if end_minutes == 24 * 60:
        end_minutes = 0
    if start_minutes >= 24 * 60 or start_minutes == end_minutes:
        return None
    return start_minutes, end_minutes


def clock_range(text: str) -> tuple[int, int] | None:
    """Two times of day typed as a range, as minutes after midnight (24:00 is 1440), read
    with the am/pm and "9-5" rules above, or None; in any order (whether an end before the
    start is a night is the caller's to say). The clinic's opening hours use it too."""
    typed = re.sub(r"\s+", " ", text.strip().casefold())
    if not typed or len(typed) > MAX_TYPED:
        return None
    match = _RANGE.match(typed)
    if match is None:
        return None
    start = _clock(match, "a")
    end = _clock(match, "b")
    if start is None or end is None:
        return None
    (start_minutes, start_half), (end_minutes, end_half) = start, end
    if start_half is None and end_half is not None and start_minutes < 12 * 60:
        moved = start_minutes % (12 * 60) + (12 * 60 if end_half == "p" else 0)
        if moved < end_minutes:
            start_minutes = moved
    if start_half is None and end_half is None and end_minutes < start_minutes < 12 * 60:
        end_minutes += 12 * 60  # "9-5" is the working day, not 20 hours overnight
    return start_minutes, end_minutes


def _clock(match: re.Match[str], side: str) -> tuple[int, str | None] | None:
    """Minutes after midnight (24:00 allowed, as 1440) and the am/pm given, if any."""
    four = match[f"{side}4"]
    if four is not None:
        hours, minutes, half = int(four[:2]), int(four[2:]), None
    else:
        hours, minutes = int(match[f"{side}h"]), int(match[f"{side}m"] or 0)
        suffix = match[f"{side}x"]
        half = suffix[0] if suffix else None
    if minutes > 59:
        return None
    if half is not None:
        if not 1 <= hours <= 12:
            return None
        hours = hours % 12 + (12 if half == "p" else 0)
    if hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes, half
