"""Figures for staff (/stats): what clients did over recent windows of days, side by side.

Windows are nested ("the last 7 days" lies inside "the last 30"), so each figure is a tuple
with one count per window, shortest first. Plain counts are done by the database, one row
per event kind with a conditional COUNT per window (portable to SQLite and PostgreSQL). The
few facts kept inside an event's JSON `data` (a new client's source, a result's services, a
red flag's tier) are read in Python, for the needed kinds and the widest window only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func
from sqlmodel import Session, col, select

from storage.broadcasts import STATUSES as DELIVERY_STATUSES
from storage.models import Broadcast, Delivery, Event

WINDOWS = (7, 30)  # days
TOP_SOURCES = 10
# Event kinds counted as they are.
KINDS = (
    "client_new",
    "screening_started",
    "screening_finished",
    "red_flag_exit",
    "booking_shown",
    "handoff",
    "reminders_on",
    "break_done",
)
TIERS = ("A", "B")

Counts = tuple[int, ...]  # one count per window, in the order of `Stats.days`


@dataclass(frozen=True)
class Stats:
    now: datetime
    days: tuple[int, ...]  # the windows, shortest first
    events: dict[str, Counts]  # every kind in KINDS
    sources: tuple[tuple[str | None, Counts], ...]  # new clients by source, busiest first
    other_sources: int  # how many more sources there are beyond `sources`
    others: Counts  # new clients from those
    tiers: dict[str, Counts]  # red-flag exits by tier, every tier in TIERS
    recommended: tuple[tuple[str, Counts], ...]  # finished screenings recommending each service
    broadcasts: Counts  # broadcasts started
    deliveries: tuple[tuple[str, Counts], ...]  # their recipients by status


def collect(
    session: Session,
    now: datetime,
    *,
    days: Sequence[int] = WINDOWS,
    services: Sequence[str] = (),
    top: int = TOP_SOURCES,
) -> Stats:
    """The figures for the windows ending at `now`. `services` (ids, in the order to show
    them) are listed even when nothing recommended them; an id not among them still counts."""
    windows = tuple(sorted(set(days)))
    sinces = [now - timedelta(days=d) for d in windows]
    widest = sinces[-1]

    events = dict.fromkeys(KINDS, _zero(windows))
    kind_counts = select(col(Event.kind), *_per_window(col(Event.at), sinces)).where(
        col(Event.kind).in_(KINDS), col(Event.at) >= widest
    )
    for kind, *counts in session.exec(kind_counts.group_by(col(Event.kind))).all():
        events[kind] = tuple(int(n) for n in counts)
    # Changing the settings turns reminders "on" again: opt-ins count each client once per
    # window (an erased client's events are unlinked and count one each).
    opted = select(*_distinct_clients_per_window(sinces)).where(
        col(Event.kind) == "reminders_on", col(Event.at) >= widest
    )
    events["reminders_on"] = tuple(int(n) for n in session.exec(opted).one())

    detailed = select(col(Event.kind), _narrowest(col(Event.at), sinces), col(Event.data)).where(
        col(Event.kind).in_(("client_new", "screening_finished", "red_flag_exit")),
        col(Event.at) >= widest,
    )
    by_source: dict[str | None, list[int]] = {}
    by_service: dict[str, list[int]] = {}
    by_tier: dict[str, list[int]] = {tier: [0] * len(windows) for tier in TIERS}
    for kind, narrowest, data in session.exec(detailed).all():
        data = data if isinstance(data, dict) else {}
        if kind == "client_new":
            _add(by_source.setdefault(_source(data), [0] * len(windows)), narrowest)
        elif kind == "screening_finished":
            for service in _services(data):
                _add(by_service.setdefault(service, [0] * len(windows)), narrowest)
        elif data.get("tier") in by_tier:
            _add(by_tier[data["tier"]], narrowest)

    ranked = sorted(by_source.items(), key=lambda item: _busiest_first(item[0], item[1]))
    shown, rest = ranked[:top], ranked[top:]
    others = tuple(sum(counts[i] for _, counts in rest) for i in range(len(windows)))

    broadcasts = select(*_per_window(col(Broadcast.started_at), sinces)).where(
        col(Broadcast.started_at) >= widest
    )
    started = session.exec(broadcasts).one()
    per_status = (
        select(col(Delivery.status), *_per_window(col(Broadcast.started_at), sinces))
        .join(Broadcast, col(Broadcast.id) == col(Delivery.broadcast_id))
        .where(col(Broadcast.started_at) >= widest)
        .group_by(col(Delivery.status))
    )
    deliveries = dict.fromkeys(DELIVERY_STATUSES, _zero(windows))
    for status, *counts in session.exec(per_status).all():
        deliveries[status] = tuple(int(n) for n in counts)

    return Stats(
        now=now,
        days=windows,
        events=events,
        sources=tuple((source, tuple(counts)) for source, counts in shown),
        other_sources=len(rest),
        others=others,
        tiers={tier: tuple(counts) for tier, counts in by_tier.items()},
        recommended=_in_order(by_service, services, windows),
        broadcasts=tuple(int(n) for n in started),
        deliveries=tuple(deliveries.items()),
    )


def _per_window(at: Any, sinces: Iterable[datetime]) -> list[ColumnElement[int]]:
    """COUNT of the rows whose `at` falls in each window."""
    return [func.count(case((at >= since, 1))) for since in sinces]


def _distinct_clients_per_window(sinces: Iterable[datetime]) -> list[ColumnElement[int]]:
    at, client = col(Event.at), col(Event.client_id)
    return [
        func.count(func.distinct(case((at >= since, client))))
        + func.count(case((and_(at >= since, client.is_(None)), 1)))
        for since in sinces
    ]


def _narrowest(at: Any, sinces: Sequence[datetime]) -> ColumnElement[int]:
    """The index of the narrowest window the row falls in (it is in every wider one too)."""
    return case(*((at >= since, index) for index, since in enumerate(sinces)), else_=len(sinces))


def _add(counts: list[int], narrowest: int) -> None:
    for index in range(narrowest, len(counts)):
        counts[index] += 1


def _zero(windows: Sequence[int]) -> Counts:
    return (0,) * len(windows)


def _source(data: dict[str, Any]) -> str | None:
    source = data.get("source")
    return str(source) if source else None


def _services(data: dict[str, Any]) -> list[str]:
    """Every service a finished screening recommended (each is credited)."""
    services = data.get("services")
    return [str(s) for s in services if s] if isinstance(services, list) else []


def _busiest_first(name: str | None, counts: Sequence[int]) -> tuple[object, ...]:
    """Sort key: the widest window's count first, then the narrower ones, then the name."""
    return (*(-n for n in reversed(counts)), name is None, name or "")


def _in_order(
    counted: dict[str, list[int]], known: Sequence[str], windows: Sequence[int]
) -> tuple[tuple[str, Counts], ...]:
    """Every known service in its order, then any other counted id (e.g. a service since
    removed from the questionnaire), busiest first."""
    rows = [(service, tuple(counted.get(service, _zero(windows)))) for service in known]
    extra = sorted(
        ((s, c) for s, c in counted.items() if s not in known),
        key=lambda item: _busiest_first(item[0], item[1]),
    )
    return (*rows, *((service, tuple(counts)) for service, counts in extra))
