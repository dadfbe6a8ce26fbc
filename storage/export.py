"""/export for staff: the funnel of clients who gave health consent, one row each, for the
clinic's own records. No contact details leave: no name, username, Telegram id or chat id,
only a row number; dates are days, in the clinic's time zone."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.broadcasts import REMINDERS_ON
from storage.models import BreakDay, Client, Event, ReminderPlan, Screening

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these


@dataclass(frozen=True)
class FunnelRow:
    created: date
    source: str | None
    finished: bool  # a self-check finished with a result
    band: str | None  # the latest result's band
    tier: str | None  # the safety tier now (A, B, C)
    services: tuple[str, ...]  # the latest result's recommended services
    booking_shown: bool  # a booking link was ever shown to them (with a result)
    handoffs: int  # requests to talk to a person sent to the staff
    reminders: str | None  # the reminder plan's status, None without one
    breaks_done: int
    tips_consent: bool | None


def funnel(session: Session, zone: tzinfo) -> list[FunnelRow]:
    """Every client with health consent, oldest first. A few grouped queries, whatever the
    number of clients."""
    consented = select(col(Client.id)).where(col(Client.health_consent).is_(True))
    results: dict[int, dict[str, object]] = {}
    for client_id, result in session.exec(
        select(col(Screening.client_id), col(Screening.result))
        .where(col(Screening.status) == "completed", col(Screening.client_id).in_(consented))
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
    }
    breaks = dict(
        session.exec(
            select(col(BreakDay.client_id), func.sum(BreakDay.done))
            .where(col(BreakDay.client_id).in_(consented))
            .group_by(col(BreakDay.client_id))
        ).all()
    )
    clients = session.exec(
        select(
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
                reminders=plans.get(client_id),
                breaks_done=int(breaks.get(client_id) or 0),
                tips_consent=tips,
            )
        )
    return rows


def to_csv(
    rows: Sequence[FunnelRow],
    columns: Sequence[str],
    words: Mapping[str, str],
    *,
    bands: Mapping[str, str],
    services: Mapping[str, str],
) -> bytes:
    """The rows as CSV (UTF-8 with a byte-order mark, so spreadsheets read it as such), under
    `columns` (13 headings); `words` names yes, no and the reminder states; `bands` and
    `services` the result's bands and services by id (an id they lack, e.g. of a service
    since removed, is shown as it is). Each row's number is its only reference; a text that
    a spreadsheet would take for a formula is quoted."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)

    def yes_no(value: bool | None) -> str:
        return "" if value is None else words["yes" if value else "no"]

    def plan(status: str | None) -> str:
        if status is None:
            return ""
        return words["on" if status in REMINDERS_ON else status if status in words else "setup"]

    for number, row in enumerate(rows, start=1):
        writer.writerow(
            [
                number,
                _safe(row.source or ""),
                row.created.isoformat(),
                words["yes"],
                yes_no(row.finished),
                _safe(bands.get(row.band, row.band)) if row.band else "",
                row.tier or "",
                _safe("; ".join(services.get(s, s) for s in row.services)),
                yes_no(row.booking_shown),
                row.handoffs,
                plan(row.reminders),
                row.breaks_done,
                yes_no(row.tips_consent),
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def _safe(text: str) -> str:
    """A text as a spreadsheet shows it: one it would run as a formula gets a leading quote."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text
