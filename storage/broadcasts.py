"""Broadcast queries: audiences and their segments, drafts, and each recipient's delivery.

A delivery goes pending → sending (committed before the request leaves) → sent, blocked,
failed or skipped; a row found `sending` at start-up was in flight during a crash and
becomes `unconfirmed`, never sent again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, update
from sqlmodel import Session, col, select

from dialogs.safety import CRISIS_QUIET, HOLDING_TIERS
from dialogs.statuses import (
    BroadcastStatus,
    DeliveryStatus,
    HandoffStatus,
    PlanStatus,
    PostKind,
    ScreeningStatus,
)
from storage import inbox
from storage.models import Broadcast, Client, Delivery, Handoff, ReminderPlan, Screening, utcnow
from storage.repo import NOT_HELD

# A staff member's broadcast not yet sent or planned.
OPEN_DRAFT = (BroadcastStatus.COMPOSE, BroadcastStatus.WHEN, BroadcastStatus.DRAFT)
# A draft waiting for the staff member's typed text or time: entering it ends a reply they
# were writing from /inbox (the more recent wins; see dialogs.awaiting).
TYPED = (BroadcastStatus.COMPOSE, BroadcastStatus.WHEN)
REMINDERS_ON = (PlanStatus.ACTIVE, PlanStatus.ASKING)
STATUSES = tuple(DeliveryStatus)  # every delivery status, each counted in a broadcast's figures
MISSED_AFTER = timedelta(hours=1)  # a planned tip this late (the bot was down) is not sent


@dataclass(frozen=True)
class Recipient:
    client_id: int
    chat_id: int
    source: str | None


@dataclass(frozen=True)
class Claimed:
    """A delivery about to be sent: whom to, and the name the tip greets."""

    chat_id: int
    first_name: str


# --- audiences ---------------------------------------------------------------------------------


# Everyone who said yes to tips, has not opted out since and has not blocked the bot, and
# whose safety status lets them have tips (no tier A or B red flag held); or, `held`, those
# who would be but for the hold (counted for staff, never sent to).
def _population(held: bool) -> tuple[ColumnElement[bool], ...]:
    wants_tips = (col(Client.tips_consent).is_(True), col(Client.blocked).is_(False))
    return (*wants_tips, ~NOT_HELD if held else NOT_HELD)


def _opted_in(session: Session, population: tuple[ColumnElement[bool], ...]) -> list[Recipient]:
    # Plain rows (session.execute): SQLModel's per-row handling costs 3x here.
    rows = session.execute(
        select(Client.id, Client.chat_id, Client.source).where(*population).order_by(col(Client.id))
    ).all()
    return [Recipient(i, c, s) for i, c, s in rows]


def _with_reminders(session: Session) -> set[int]:
    rows = session.execute(
        select(ReminderPlan.client_id).where(col(ReminderPlan.status).in_(REMINDERS_ON))
    ).all()
    return {cid for (cid,) in rows}


def _last_recommendations(
    session: Session, population: tuple[ColumnElement[bool], ...]
) -> dict[int, tuple[str, ...]]:
    """The services each screened client's latest finished screening recommended: none if
    it ended at a red flag (no sales after a red flag, care-safety.md)."""
    rows = session.execute(
        select(Screening.client_id, Screening.result)
        .join(Client, col(Client.id) == col(Screening.client_id))
        .where(
            col(Screening.status).in_((ScreeningStatus.COMPLETED, ScreeningStatus.RED_FLAG)),
            *population,
        )
        .order_by(col(Screening.client_id), col(Screening.finished_at))
    ).all()
    return {cid: tuple((result or {}).get("services", ())) for cid, result in rows}


def _asked_for_booking(session: Session) -> set[int]:
    """Clients who asked the clinic for a booking: a hand-off request they sent to staff.
    (Booking links open the clinic's site; Telegram does not tell the bot they were used.)"""
    rows = session.execute(  # a conversation closed since still asked
        select(Handoff.client_id).where(
            Handoff.kind == PostKind.REQUEST,
            col(Handoff.status).in_((HandoffStatus.SENT, HandoffStatus.CLOSED)),
        )
    ).all()
    return {cid for (cid,) in rows}


def segment_members(session: Session, *, held: bool = False) -> dict[str, list[Recipient]]:
    """Every segment with at least one client (and always "all"), with its members; `held`:
    the clients each would have but for a red-flag hold."""
    population = _population(held)
    everyone = _opted_in(session, population)
    reminders = _with_reminders(session)
    recommended = _last_recommendations(session, population)
    booked = _asked_for_booking(session)
    segments: dict[str, list[Recipient]] = {"all": everyone}
    segments["reminders"] = [r for r in everyone if r.client_id in reminders]
    services = sorted({s for names in recommended.values() for s in names})
    for service in services:
        segments[f"service:{service}"] = [
            r for r in everyone if service in recommended.get(r.client_id, ())
        ]
    segments["no_booking"] = [
        r for r in everyone if recommended.get(r.client_id) and r.client_id not in booked
    ]
    for source, _ in Counter(r.source for r in everyone if r.source).most_common():
        segments[f"source:{source}"] = [r for r in everyone if r.source == source]
    return {name: members for name, members in segments.items() if members or name == "all"}


def audience(session: Session, segment: str) -> list[Recipient]:
    """The clients a broadcast to `segment` reaches now (empty for a segment now gone)."""
    return segment_members(session).get(segment, [])


def segment_counts(session: Session) -> dict[str, int]:
    return {name: len(members) for name, members in segment_members(session).items()}


def held_back(session: Session, segment: str) -> int:
    """Clients `segment` would reach but for a red-flag hold (left out of every audience)."""
    return len(segment_members(session, held=True).get(segment, []))


# --- drafts ------------------------------------------------------------------------------------


def new_draft(session: Session, staff_id: int, **values: Any) -> Broadcast:
    """A new broadcast for a staff member, replacing their unfinished one (never sent): a
    staff member has at most one tip in the making."""
    session.execute(
        delete(Broadcast).where(
            col(Broadcast.staff_id) == staff_id, col(Broadcast.status).in_(OPEN_DRAFT)
        )
    )
    broadcast = Broadcast(staff_id=staff_id, **values)
    session.add(broadcast)
    session.flush()
    if broadcast.status in TYPED:
        inbox.end_reply(session, staff_id)
    return broadcast


def save_tip(
    session: Session, broadcast_id: int, template: str, photo: str | None
) -> Broadcast | None:
    """The staff member's checked tip, now previewed. None if the draft has gone meanwhile."""
    draft = session.get(Broadcast, broadcast_id)
    if draft is None or draft.status != BroadcastStatus.COMPOSE:
        return None
    draft.template, draft.photo, draft.status = template, photo, BroadcastStatus.DRAFT
    return draft


def drop_draft(session: Session, staff_id: int, broadcast_id: int | None = None) -> int | None:
    """Delete a staff member's tip in the making (any, or the one named). Its number, or
    None if there was none."""
    draft = open_draft(session, staff_id, OPEN_DRAFT)
    if draft is None or (broadcast_id is not None and draft.id != broadcast_id):
        return None
    session.delete(draft)
    return draft.id


def open_draft(session: Session, staff_id: int, statuses: tuple[str, ...]) -> Broadcast | None:
    return session.exec(
        select(Broadcast).where(Broadcast.staff_id == staff_id, col(Broadcast.status).in_(statuses))
    ).first()


def move(session: Session, broadcast_id: int, before: tuple[str, ...], **values: Any) -> bool:
    """Change a broadcast only if it is still in one of the `before` states (a second tap,
    or a tick racing a staff member, finds it moved on and changes nothing)."""
    result = session.exec(
        update(Broadcast)
        .where(col(Broadcast.id) == broadcast_id, col(Broadcast.status).in_(before))
        .values(**values)
    )
    moved = bool(result.rowcount)
    if moved and values.get("status") in TYPED:
        staff_id = session.exec(
            select(Broadcast.staff_id).where(Broadcast.id == broadcast_id)
        ).one()
        inbox.end_reply(session, staff_id)
    return moved


def recent(session: Session, limit: int = 10) -> list[Broadcast]:
    """Broadcasts that were sent, are going or are planned, newest first."""
    return list(
        session.exec(
            select(Broadcast)
            .where(col(Broadcast.status).not_in(OPEN_DRAFT))
            .order_by(col(Broadcast.id).desc())
            .limit(limit)
        ).all()
    )


# --- delivering --------------------------------------------------------------------------------


def start(
    session: Session,
    broadcast_id: int,
    before: str,
    now: datetime,
    status_message_id: int | None = None,
) -> bool:
    """Move a broadcast from `before` (draft or scheduled) to sending and create one pending
    delivery per recipient, in one transaction. False if it had moved on meanwhile (a staff
    member cancelled it as the tick started it): then nothing is created."""
    values: dict[str, Any] = {"status": BroadcastStatus.SENDING, "started_at": now}
    if status_message_id is not None:  # the panel Send now was pressed on shows the progress
        values["status_message_id"] = status_message_id
    if not move(session, broadcast_id, (before,), **values):
        return False
    broadcast = session.get(Broadcast, broadcast_id)
    assert broadcast is not None
    recipients = audience(session, broadcast.segment)
    if recipients:
        session.execute(
            insert(Delivery),
            [
                {
                    "broadcast_id": broadcast_id,
                    "client_id": r.client_id,
                    "chat_id": r.chat_id,
                    "status": DeliveryStatus.PENDING,
                    "updated_at": now,
                }
                for r in recipients
            ],
        )
    return True


def stop(session: Session, broadcast_id: int, now: datetime) -> bool:
    """Cancel a planned broadcast or stop a sending one; what was not sent is marked so."""
    if not move(
        session,
        broadcast_id,
        (BroadcastStatus.SENDING, BroadcastStatus.SCHEDULED),
        status=BroadcastStatus.CANCELLED,
        finished_at=now,
    ):
        return False
    session.execute(
        update(Delivery)
        .where(
            col(Delivery.broadcast_id) == broadcast_id,
            col(Delivery.status) == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.CANCELLED, updated_at=now)
    )
    return True


def due_scheduled(session: Session, now: datetime) -> tuple[list[int], list[Broadcast]]:
    """Planned broadcasts whose time has come: (ids to start now, those missed: their time
    passed over MISSED_AFTER ago while the bot was down; they are marked so, not sent)."""
    due = session.exec(
        select(Broadcast).where(
            Broadcast.status == BroadcastStatus.SCHEDULED, col(Broadcast.scheduled_at) <= now
        )
    ).all()
    start_now: list[int] = []
    missed: list[Broadcast] = []
    for broadcast in due:
        assert broadcast.id is not None and broadcast.scheduled_at is not None
        if now - broadcast.scheduled_at <= MISSED_AFTER:
            start_now.append(broadcast.id)
        elif move(
            session,
            broadcast.id,
            (BroadcastStatus.SCHEDULED,),
            status=BroadcastStatus.MISSED,
            finished_at=now,
        ):
            missed.append(broadcast)
    return start_now, missed


def sending(session: Session) -> list[Broadcast]:
    return list(
        session.exec(select(Broadcast).where(Broadcast.status == BroadcastStatus.SENDING)).all()
    )


def mark_unconfirmed(session: Session, broadcast_id: int | None = None) -> int:
    """Sends that were in flight when the bot (or one broadcast's run) stopped: they may
    have arrived, so they are never sent again. At start-up, every broadcast's: long
    polling allows one bot process, so nobody else is sending."""
    condition = col(Delivery.status) == DeliveryStatus.SENDING
    if broadcast_id is not None:
        condition = condition & (col(Delivery.broadcast_id) == broadcast_id)
    result = session.exec(
        update(Delivery)
        .where(condition)
        .values(status=DeliveryStatus.UNCONFIRMED, updated_at=utcnow())
    )
    return int(result.rowcount)


def pending_page(session: Session, broadcast_id: int, after: int, limit: int) -> list[int]:
    rows = session.exec(
        select(Delivery.id)
        .where(
            Delivery.broadcast_id == broadcast_id,
            Delivery.status == DeliveryStatus.PENDING,
            col(Delivery.id) > after,
        )
        .order_by(col(Delivery.id))
        .limit(limit)
    ).all()
    return [i for i in rows if i is not None]  # (stored rows all have ids)


def recipient(session: Session, delivery_id: int) -> Claimed | None:
    """Whom a pending delivery goes to (None if it is no longer pending): read before its
    send slot comes, so that the tip is ready to go the moment it is claimed."""
    row = session.execute(
        select(Client.chat_id, Client.first_name)
        .join(Delivery, col(Client.id) == col(Delivery.client_id))
        .where(col(Delivery.id) == delivery_id, col(Delivery.status) == DeliveryStatus.PENDING)
    ).first()
    return None if row is None else Claimed(row[0], row[1])


def claim(session: Session, delivery_id: int) -> Claimed | None:
    """Mark a pending delivery as sending, if its client still wants tips and can get them;
    otherwise record why not. None: nothing to send. The conditional UPDATE makes the claim
    the one place a delivery can be taken, whoever else might try at the same moment."""
    client = session.exec(
        select(Client)
        .join(Delivery, col(Client.id) == col(Delivery.client_id))
        .where(Delivery.id == delivery_id)
    ).first()
    status = DeliveryStatus.SENDING
    if client is None:  # erased since the broadcast started
        session.execute(
            update(Delivery)
            .where(col(Delivery.id) == delivery_id, col(Delivery.status) == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.SKIPPED, updated_at=utcnow())
        )
        return None
    if client.blocked:
        status = DeliveryStatus.BLOCKED
    elif not client.tips_consent:
        status = DeliveryStatus.SKIPPED
    elif client.safety_tier in HOLDING_TIERS or (
        client.crisis_at is not None and utcnow() - client.crisis_at < CRISIS_QUIET
    ):
        status = DeliveryStatus.HELD  # a red flag, or crisis words today
    taken = session.exec(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.status) == DeliveryStatus.PENDING)
        .values(status=status, updated_at=utcnow())
    )
    if not taken.rowcount or status != DeliveryStatus.SENDING:
        return None
    return Claimed(client.chat_id, client.first_name)


def finish(
    session: Session,
    delivery_id: int,
    status: str,
    *,
    message_id: int | None = None,
    reason: str | None = None,
) -> None:
    session.execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id)
        .values(status=status, message_id=message_id, reason=reason, updated_at=utcnow())
    )


def figures(session: Session, broadcast_ids: list[int]) -> dict[int, dict[str, int]]:
    """Deliveries per status for each broadcast (every status present, zero if none)."""
    out: dict[int, dict[str, int]] = {bid: dict.fromkeys(STATUSES, 0) for bid in broadcast_ids}
    rows = session.exec(
        select(Delivery.broadcast_id, Delivery.status, func.count())
        .where(col(Delivery.broadcast_id).in_(broadcast_ids))
        .group_by(col(Delivery.broadcast_id), col(Delivery.status))
    ).all()
    for bid, status, count in rows:
        out[bid][status] = int(count)
    return out


def failure_reasons(session: Session, broadcast_id: int, top: int = 3) -> list[tuple[str, int]]:
    """The commonest reasons deliveries failed (Telegram's words), for the staff report."""
    rows = session.exec(
        select(Delivery.reason).where(
            Delivery.broadcast_id == broadcast_id, Delivery.status == DeliveryStatus.FAILED
        )
    ).all()
    return Counter(r or "unknown" for r in rows).most_common(top)
