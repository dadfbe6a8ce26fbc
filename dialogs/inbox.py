"""The staff inbox as staff see it: open requests in order, a page at a time, with buttons.
Pure: the handler loads the rows (`storage.inbox`) and sends what this renders.

Order: clients held by a red flag (tier A, then B) first, then the longest waiting. A
client's safety status (A, B, C or no red flags) is shown only where they shared it with the
team: with the self-check they agreed to send, or, for a hold, in a message to the team
after the request (the relay post is marked urgent then), as the hand-off's own post does
(`templates/staff_handoff.j2`); otherwise the list says it was not shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dialogs.opening_hours import OpeningHours
from dialogs.presses import InboxAction, InboxPage
from dialogs.render import labels, render
from dialogs.replies import Button, Keyboard
from dialogs.safety import HOLDING_TIERS
from dialogs.statuses import Urgent

SOON = timedelta(days=6)  # the clinic reopens within the week: its weekday alone is clear
PAGE = 8  # requests a message: 3 buttons each stays far below Telegram's 100, text below 4096
NAME = 40  # characters of a client's name shown


@dataclass(frozen=True)
class Entry:
    """One open request, as loaded."""

    request_id: int
    client_id: int
    name: str
    since: datetime
    safety: str | None  # crisis, A, B, C or "none" as shared; None: not shared (see above)
    taken_by: int | None
    taken_by_name: str | None
    answered_at: datetime | None = None  # a staff reply reached the client (the wait ended)


def shared_safety(
    tier: str | None,
    tier_at: datetime | None,
    shared_screening: bool,
    since: datetime,
    urgent: str | None = None,
) -> str | None:
    """The safety status to show staff: "crisis" for a request the bot opened on crisis
    words; whatever it is, if shared with the self-check; a hold told to the team after the
    request; else None (not shared)."""
    if urgent == Urgent.CRISIS:
        return urgent
    if shared_screening:
        return tier or "none"
    if tier in HOLDING_TIERS and tier_at is not None and tier_at >= since:
        return tier
    return None


def ordered(entries: list[Entry]) -> list[Entry]:
    """Crisis words and tier A, then tier B, then everyone else; the longest waiting first
    within each."""
    rank = {"crisis": 0, "A": 0, "B": 1}
    return sorted(entries, key=lambda e: (rank.get(e.safety or "", 2), e.since))


def inbox_view(
    entries: list[Entry], page: int, now: datetime, zone: ZoneInfo, viewer: int | None
) -> tuple[str, Keyboard, list[Entry]]:
    """The text and buttons of one page of the inbox (a page past the end shows the last),
    and the entries it shows. `viewer`: the staff member looking ("taken by you")."""
    entries = ordered(entries)
    pages = max(1, -(-len(entries) // PAGE))
    page = min(max(page, 0), pages - 1)
    shown = entries[page * PAGE : (page + 1) * PAGE]
    first = page * PAGE + 1
    items = [
        {
            "number": number,
            "name": entry.name[:NAME],
            "since": entry.since.astimezone(zone),
            "waited": _minutes((entry.answered_at or now) - entry.since),
            "answered": entry.answered_at is not None,
            "safety": entry.safety,
            "taken_by": entry.taken_by_name,
            "mine": viewer is not None and entry.taken_by == viewer,
        }
        for number, entry in enumerate(shown, first)
    ]
    text = render(
        "staff/inbox",
        items=items,
        total=len(entries),
        page=page + 1,
        pages=pages,
        zone=zone.key,
        now=now.astimezone(zone),
    )
    rows: list[tuple[Button, ...]] = [
        (
            Button(labels.inbox_take.format(n=number), InboxAction("take", entry.request_id, page)),
            Button(
                labels.inbox_reply.format(n=number), InboxAction("reply", entry.request_id, page)
            ),
            Button(
                labels.inbox_close.format(n=number), InboxAction("close", entry.request_id, page)
            ),
        )
        for number, entry in enumerate(shown, first)
    ]
    moves = []
    if page > 0:
        moves.append(Button(labels.inbox_previous, InboxPage(page - 1)))
    if page + 1 < pages:
        moves.append(Button(labels.inbox_next, InboxPage(page + 1)))
    if moves:
        rows.append(tuple(moves))
    return text, tuple(rows), shown


def _minutes(waited: timedelta) -> int:
    """Whole minutes waited, never below zero (a clock stepped back must not show -1 min)."""
    return max(0, int(waited.total_seconds() // 60))


def after_hours(hours: OpeningHours, now: datetime, told_at: datetime | None = None) -> str:
    """What a client is told when their message reaches the clinic while it is closed (a
    holiday, the night): when it will answer, in clinic time, named ("today at 09:00",
    "tomorrow at", a weekday, or the date when further off). Said once per closed period:
    empty while open, and when the client's previous message to the team (`told_at`) came
    after the clinic closed (they were told then)."""
    if hours.is_open(now):
        return ""
    if told_at is not None:
        closed = hours.last_close(now)
        if closed is None or told_at >= closed:
            return ""
    reopens = hours.next_open(now)
    local = reopens.astimezone(hours.zone) if reopens else None
    days = (local.date() - now.astimezone(hours.zone).date()).days if local else None
    return render(
        "_after_hours",
        reopens=local,
        day={0: "today", 1: "tomorrow"}.get(days) if days is not None else None,
        soon=reopens is not None and reopens - now < SOON,
        zone=hours.zone.key,
    )
