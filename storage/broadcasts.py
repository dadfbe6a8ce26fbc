"""Broadcast queries: audiences and their segments, drafts, and each recipient's delivery.

A delivery goes pending → sending (committed before the request leaves) → sent, blocked,
failed or skipped; a row found `sending` at start-up was in flight during a crash and
becomes `unconfirmed`, never sent again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, update
from sqlmodel import Session, col, select

from storage.models import Broadcast, Client, Delivery, Handoff, ReminderPlan, Screening, utcnow

OPEN_DRAFT = ("compose", "when", "draft")  # a staff member's broadcast not yet sent or planned
REMINDERS_ON = ("active", "asking")
STATUSES = ("pending", "sending", "sent", "blocked", "failed", "unconfirmed", "skipped")


@dataclass(frozen=True)
class Recipient:
    client_id: int
    chat_id: int
    source: str | None


@dataclass(frozen=True)
class Claimed:
    """A delivery about to be sent: whom to, and the name the tip greets."""

    delivery_id: int
    chat_id: int
    first_name: str


# --- audiences ---------------------------------------------------------------------------------


def _opted_in(session: Session) -> list[Recipient]:
    """Everyone who said yes to tips, has not opted out since and has not blocked the bot."""
    rows = session.exec(
        select(Client.id, Client.chat_id, Client.source)
        .where(col(Client.tips_consent).is_(True), col(Client.blocked).is_(False))
        .order_by(col(Client.id))
    ).all()
    return [Recipient(int(i), int(c), s) for i, c, s in rows]  # type: ignore[arg-type]


def _with_reminders(session: Session) -> set[int]:
    rows = session.exec(
        select(ReminderPlan.client_id).where(col(ReminderPlan.status).in_(REMINDERS_ON))
    ).all()
    return set(rows)


def _last_recommendations(session: Session) -> dict[int, tuple[str, ...]]:
    """The services each screened client's latest finished screening recommended: none if
    it ended at a red flag (no sales after a red flag, care-safety.md)."""
    rows = session.exec(
        select(Screening.client_id, Screening.result)
        .where(col(Screening.status).in_(("completed", "red_flag")))
        .order_by(col(Screening.client_id), col(Screening.finished_at))
    ).all()
    return {cid: tuple((result or {}).get("services", ())) for cid, result in rows}


def _asked_for_booking(session: Session) -> set[int]:
    """Clients who asked the clinic for a booking: a hand-off request they sent to staff.
    (Booking links open the clinic's site; Telegram does not tell the bot they were used.)"""
    rows = session.exec(
        select(Handoff.client_id).where(Handoff.kind == "request", Handoff.status == "sent")
    ).all()
    return set(rows)


def segment_members(session: Session) -> dict[str, list[Recipient]]:
    """Every segment with at least one client (and always "all"), with its members."""
    everyone = _opted_in(session)
    reminders = _with_reminders(session)
    recommended = _last_recommendations(session)
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


# --- drafts ------------------------------------------------------------------------------------


def new_draft(session: Session, staff_id: int, **values: Any) -> Broadcast:
    """A new broadcast for a staff member, replacing their unfinished one (never sent)."""
    session.execute(
        delete(Broadcast).where(
            col(Broadcast.staff_id) == staff_id, col(Broadcast.status).in_(OPEN_DRAFT)
        )
    )
    broadcast = Broadcast(staff_id=staff_id, **values)
    session.add(broadcast)
    session.flush()
    return broadcast


def open_draft(session: Session, staff_id: int, statuses: tuple[str, ...]) -> Broadcast | None:
    return session.exec(
        select(Broadcast).where(Broadcast.staff_id == staff_id, col(Broadcast.status).in_(statuses))
    ).first()


def move(session: Session, broadcast_id: int, before: tuple[str, ...], **values: Any) -> bool:
    """Change a broadcast only if it is still in one of the `before` states (a second tap,
    or a tick racing a staff member, finds it moved on and changes nothing)."""
    result = session.execute(
        update(Broadcast)
        .where(col(Broadcast.id) == broadcast_id, col(Broadcast.status).in_(before))
        .values(**values)
    )
    return bool(result.rowcount)


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


def start(session: Session, broadcast: Broadcast, now: datetime) -> int:
    """Create one pending delivery per recipient and mark the broadcast as sending."""
    recipients = audience(session, broadcast.segment)
    if recipients:
        session.execute(
            insert(Delivery),
            [
                {
                    "broadcast_id": broadcast.id,
                    "client_id": r.client_id,
                    "chat_id": r.chat_id,
                    "status": "pending",
                    "updated_at": now,
                }
                for r in recipients
            ],
        )
    broadcast.status = "sending"
    broadcast.started_at = now
    return len(recipients)


def due_scheduled(session: Session, now: datetime) -> list[Broadcast]:
    return list(
        session.exec(
            select(Broadcast).where(
                Broadcast.status == "scheduled", col(Broadcast.scheduled_at) <= now
            )
        ).all()
    )


def sending(session: Session) -> list[Broadcast]:
    return list(session.exec(select(Broadcast).where(Broadcast.status == "sending")).all())


def mark_unconfirmed(session: Session) -> int:
    """At start-up (one bot process): what was in flight when the bot stopped."""
    result = session.execute(
        update(Delivery)
        .where(col(Delivery.status) == "sending")
        .values(status="unconfirmed", reason="in flight when the bot stopped", updated_at=utcnow())
    )
    return int(result.rowcount)


def pending_page(session: Session, broadcast_id: int, after: int, limit: int) -> list[int]:
    rows = session.exec(
        select(Delivery.id)
        .where(
            Delivery.broadcast_id == broadcast_id,
            Delivery.status == "pending",
            col(Delivery.id) > after,
        )
        .order_by(col(Delivery.id))
        .limit(limit)
    ).all()
    return [int(i) for i in rows]  # type: ignore[arg-type]


def claim(session: Session, delivery_id: int) -> Claimed | None:
    """Mark a pending delivery as sending, if its client still wants tips and can get them;
    otherwise record why not. None: nothing to send."""
    row = session.exec(
        select(Delivery, Client)
        .join(Client, col(Client.id) == col(Delivery.client_id))
        .where(Delivery.id == delivery_id, Delivery.status == "pending")
    ).first()
    if row is None:
        return None
    delivery, client = row
    if client.blocked:
        finish(session, delivery_id, "blocked", reason="blocked the bot before this tip")
        return None
    if not client.tips_consent:
        finish(session, delivery_id, "skipped", reason="unsubscribed before this tip")
        return None
    delivery.status, delivery.updated_at = "sending", utcnow()
    return Claimed(delivery_id, client.chat_id, client.first_name)


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
    out = {bid: dict.fromkeys(STATUSES, 0) for bid in broadcast_ids}
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
            Delivery.broadcast_id == broadcast_id, Delivery.status == "failed"
        )
    ).all()
    return Counter(r or "unknown" for r in rows).most_common(top)
