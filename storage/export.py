"""/export for staff: the funnel of clients who gave health consent, one row each, for the
clinic's own records. No contact details leave: no name, username, Telegram id or chat id,
only a row number; dates are days, in the clinic's time zone. The CSV itself is written by
`dialogs.export`."""

from __future__ import annotations

from datetime import tzinfo

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from dialogs.export import FunnelRow
from dialogs.statuses import ScreeningStatus
from storage.broadcasts import REMINDERS_ON
from storage.models import BreakDay, Client, Event, ReminderPlan, Screening


def funnel(session: Session, zone: tzinfo) -> list[FunnelRow]:
    """Every client with health consent, oldest first. A few grouped queries, whatever the
    number of clients."""
    consented = select(col(Client.id)).where(col(Client.health_consent).is_(True))
    results: dict[int, dict[str, object]] = {}
    for client_id, result in session.exec(
        select(col(Screening.client_id), col(Screening.result))
        .where(
            col(Screening.status) == ScreeningStatus.COMPLETED,
            col(Screening.client_id).in_(consented),
        )
        .order_by(col(Screening.finished_at))
    ).all():
        results[client_id] = result if isinstance(result, dict) else {}  # the latest stays
    plans = dict(
        session.exec(
            select(col(ReminderPlan.client_id), col(ReminderPlan.status)).where(
                col(ReminderPlan.client_id).in_(consented)
            )
        ).all()
    )
    shown: dict[tuple[int, str], int] = {
        (client_id, kind): int(n)
        for client_id, kind, n in session.exec(
            select(col(Event.client_id), col(Event.kind), func.count())
            .where(
                col(Event.kind).in_(("booking_shown", "handoff")),
                col(Event.client_id).in_(consented),
            )
            .group_by(col(Event.client_id), col(Event.kind))
        ).all()
        if client_id is not None  # (consented clients' events all have one)
    }
    breaks = dict(
        session.exec(
            select(col(BreakDay.client_id), func.sum(BreakDay.done))
            .where(col(BreakDay.client_id).in_(consented))
            .group_by(col(BreakDay.client_id))
        ).all()
    )
    clients = session.execute(
        sa_select(  # (sqlmodel's select types four columns at most)
            col(Client.id),
            col(Client.created_at),
            col(Client.source),
            col(Client.safety_tier),
            col(Client.tips_consent),
        )
        .where(col(Client.health_consent).is_(True))
        .order_by(col(Client.created_at), col(Client.id))
    ).all()
    rows = []
    for client_id, created, source, tier, tips in clients:
        result = results.get(client_id)
        services = result.get("services") if result else None
        rows.append(
            FunnelRow(
                created=created.astimezone(zone).date(),
                source=source,
                finished=result is not None,
                band=str(result["band"]) if result and result.get("band") else None,
                tier=tier,
                services=tuple(str(s) for s in services) if isinstance(services, list) else (),
                booking_shown=shown.get((client_id, "booking_shown"), 0) > 0,
                handoffs=shown.get((client_id, "handoff"), 0),
                reminders=_plan(plans.get(client_id)),
                breaks_done=int(breaks.get(client_id) or 0),
                tips_consent=tips,
                client_id=client_id,
            )
        )
    return rows


def _plan(status: str | None) -> str | None:
    """The reminder plan's status as the export names it: "on" for every running state."""
    return "on" if status in REMINDERS_ON else status
