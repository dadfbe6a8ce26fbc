"""/export's CSV: the clinic's funnel rows as a spreadsheet reads them, in the clinic's own
words (headings and yes/no come from the staff/export template)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from dialogs.statuses import PlanStatus

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
    reminders: str | None  # the reminder plan's status ("on" while running), None without one
    breaks_done: int
    tips_consent: bool | None
    client_id: int = 0  # never written: the file is tracked as a post about each client in it


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
        return words[status if status in words else PlanStatus.SETUP]

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
