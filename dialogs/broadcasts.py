"""What the staff side of broadcasts says and offers: pure, no Telegram, no database.

Buttons are `BroadcastPress` records (`bc:<action>:<broadcast id>[:<argument>]`), for staff
only; the handler checks the broadcast is still in a state the action fits, so an old or
replayed press changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from dialogs.callbacks import Part, Press, press
from dialogs.render import environment, labels, render
from dialogs.replies import Button, Keyboard, Reply
from dialogs.statuses import BroadcastStatus
from dialogs.telegram_html import HtmlError, parse_html

MAX_SEGMENTS = 90
MAX_AHEAD = timedelta(days=366)
_WHEN_FORMATS = ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M", "%d.%m.%y %H:%M")
_TIME_RE = re.compile(r"^(?:(today|tomorrow)\s+)?(\d{1,2})[:.](\d{2})$")


Action = Literal["tip", "aud", "seg", "back", "send", "go", "when", "edit", "drop", "stop", "x"]
Argument = Annotated[str, Part(r"[a-z0-9_]{1,24}")]  # a ready tip's id, a segment's key


@press("bc", staff_only=True)
@dataclass(frozen=True)
class BroadcastPress(Press):
    """A staff button: what to do, to which broadcast, with what argument."""

    action: Action
    broadcast_id: int
    argument: Argument | None = None


@press("t:off")
@dataclass(frozen=True)
class Unsubscribe(Press):
    """ "Unsubscribe from tips", under every tip (and under a staff preview)."""


def segment_for_key(segments: list[str], key: str) -> str | None:
    """The segment a button's argument names, among those that exist now."""
    for segment in segments:
        if segment_key(segment) == key:
            return segment
    return None


def segment_key(segment: str) -> str:
    """A segment's stand-in in button data: short and fixed in length whatever it names (a
    source may take 64 characters, too long for a button's 64 bytes alongside the rest)."""
    return hashlib.sha1(segment.encode()).hexdigest()[:10]


def segment_label(segment: str, service_names: dict[str, str]) -> str:
    kind, _, value = segment.partition(":")
    if kind == "service":
        return labels.seg_service.format(service=service_names.get(value, value))
    if kind == "source":
        return labels.seg_source.format(source=value)
    return str(getattr(labels, f"seg_{kind}"))


# --- the panel under a preview -----------------------------------------------------------------


def panel(
    broadcast_id: int,
    segment: str,
    count: int,
    services: dict[str, str],
    *,
    held: int = 0,
    replace: bool,
) -> Reply:
    """The audience and what staff can do next: Send now, Schedule, Edit, Cancel. `held`:
    clients who want tips but are left out of every audience after a red flag."""
    text = render(
        "staff/panel",
        number=broadcast_id,
        audience=segment_label(segment, services),
        count=count,
        held=held,
    )
    buttons: Keyboard = (
        (Button(labels.bc_audience, BroadcastPress("aud", broadcast_id)),),
        (
            Button(labels.bc_send_now, BroadcastPress("send", broadcast_id)),
            Button(labels.bc_schedule, BroadcastPress("when", broadcast_id)),
        ),
        (
            Button(labels.bc_edit, BroadcastPress("edit", broadcast_id)),
            Button(labels.bc_cancel, BroadcastPress("drop", broadcast_id)),
        ),
    )
    return Reply(text, buttons, replace=replace)


def confirm_send(broadcast_id: int, count: int) -> Reply:
    """The last word before a tip goes out: to how many clients."""
    text = render("staff/confirm_send", number=broadcast_id, count=count)
    buttons: Keyboard = (
        (Button(labels.bc_confirm_send.format(count=count), BroadcastPress("go", broadcast_id)),),
        (Button(labels.back, BroadcastPress("back", broadcast_id)),),
    )
    return Reply(text, buttons, replace=True)


def audience_choice(broadcast_id: int, counts: dict[str, int], services: dict[str, str]) -> Reply:
    """Each segment with how many clients it reaches, the largest sources first (Telegram
    allows 100 buttons; the rarest sources beyond that are counted, not offered)."""
    shown = list(counts.items())[:MAX_SEGMENTS]
    rows = tuple(
        (
            Button(
                labels.seg_count.format(label=segment_label(s, services), count=n),
                BroadcastPress("seg", broadcast_id, segment_key(s)),
            ),
        )
        for s, n in shown
    )
    back = ((Button(labels.back, BroadcastPress("back", broadcast_id)),),)
    text = render("staff/audience", number=broadcast_id, not_shown=len(counts) - len(shown))
    return Reply(text, rows + back, replace=True)


def tip_buttons() -> Keyboard:
    """What every tip carries."""
    return ((Button(labels.tips_unsubscribe, Unsubscribe()),),)


def stop_button(broadcast_id: int) -> Keyboard:
    return ((Button(labels.bc_stop, BroadcastPress("stop", broadcast_id)),),)


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %Y, %H:%M")


def example_time(now: datetime, zone: ZoneInfo) -> str:
    """What to type for tomorrow at 09:30, as an example."""
    return (now.astimezone(zone) + timedelta(days=1)).strftime("%d.%m.%Y") + " 09:30"


def preview_line(template: str | None, limit: int = 80) -> str:
    """A tip's first words as plain text, for lists."""
    source = template or ""
    try:
        plain = parse_html(source).text
    except HtmlError:
        plain = source
    plain = " ".join(plain.split())
    return plain[:limit] + ("…" if len(plain) > limit else "")


@dataclass(frozen=True)
class Listed:
    """A broadcast as /broadcasts shows it."""

    number: int
    status: str
    segment: str
    template: str | None
    scheduled_at: datetime | None
    started_at: datetime | None
    figures: dict[str, int]


def listing(items: list[Listed], zone: ZoneInfo, services: dict[str, str]) -> Reply:
    """Recent broadcasts with their figures; planned and running ones can be cancelled."""
    states = environment().get_template("staff/states.j2").module
    shown = []
    buttons: list[tuple[Button, ...]] = []
    for b in items:
        when = (
            b.scheduled_at
            if b.status in (BroadcastStatus.SCHEDULED, BroadcastStatus.MISSED)
            else b.started_at
        )
        shown.append(
            {
                "number": b.number,
                "state": getattr(states, b.status, b.status),
                "when": local_time(when, zone) if when else None,
                "audience": segment_label(b.segment, services),
                "total": sum(b.figures.values()) if b.started_at else None,
                **b.figures,
                "preview": preview_line(b.template),
            }
        )
        if b.status in (BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING):
            label = labels.bc_cancel_planned.format(number=b.number)
            buttons.append((Button(label, BroadcastPress("x", b.number)),))
    return Reply(render("staff/list", items=shown), tuple(buttons), replace=True)


# --- scheduling --------------------------------------------------------------------------------


def parse_when(text: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    """A typed date and time in the clinic's zone, as aware UTC; None if it cannot be read.
    "HH:MM" alone means the next such time; "tomorrow HH:MM" the day after today."""
    value = " ".join(text.strip().lower().split())
    local_now = now.astimezone(zone)
    match = _TIME_RE.match(value)
    if match:
        word, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
        if hour > 23 or minute > 59:
            return None
        day = local_now.date() + timedelta(days=1 if word == "tomorrow" else 0)
        moment = datetime.combine(day, time(hour, minute), zone)
        if word is None and moment <= local_now:
            moment += timedelta(days=1)
        return _utc(moment)
    for fmt in _WHEN_FORMATS:
        try:
            return _utc(datetime.strptime(value, fmt).replace(tzinfo=zone))
        except ValueError:
            continue
    return None


def _utc(local: datetime) -> datetime:
    """Through UTC and back: a time in a daylight-saving gap moves to a real one."""
    return local.astimezone(UTC)


def when_problem(moment: datetime | None, now: datetime) -> str | None:
    """Why a typed time cannot be used (a template name), or None if it can."""
    if moment is None:
        return "staff/when_unreadable"
    if moment <= now:
        return "staff/when_past"
    if moment - now > MAX_AHEAD:
        return "staff/when_too_far"
    return None
