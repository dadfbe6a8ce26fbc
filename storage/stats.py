"""Figures for staff (/stats): what clients did over recent windows of days, side by side.

Days are the clinic's calendar days (CLINIC_TIMEZONE, 23 or 25 hours long across a
daylight-saving change): "the last 7 days" are today and the 6 days before. Windows are
nested, so each figure is a tuple with one count per window, shortest first. Plain counts
come from one statement that counts events per kind between each day's two midnights
(`daily`, the chart's series; the windows are its sums), portable to SQLite and PostgreSQL.
The few facts kept inside an event's JSON `data` (a new client's source, a result's
services, a red flag's tier) are grouped by the database too, for the widest window only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, func, literal, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from dialogs.schedule import at_local
from dialogs.statuses import DeliveryStatus, Tier
from storage.broadcasts import STATUSES as DELIVERY_STATUSES
from storage.models import Broadcast, Delivery, Event
from storage.progress import PainChange, pain_change

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
TIERS = (Tier.A, Tier.B)
RECENT_TIPS = 5  # broadcasts with figures of their own
UNSUBSCRIBE_WITHIN = timedelta(hours=48)  # an unsubscribe this soon after a tip counts for it

Counts = tuple[int, ...]  # one count per window, in the order of `Stats.days`


@dataclass(frozen=True)
class ClinicDays:
    """The clinic's calendar days up to today, oldest first, and the UTC moment each begins
    (`starts` has one more: when today ends)."""

    zone: tzinfo
    dates: tuple[date, ...]
    starts: tuple[datetime, ...]

    def since(self, days: int) -> datetime:
        """When "the last `days` days" begin: clinic midnight, `days - 1` days before today."""
        return self.starts[len(self.dates) - days]


@dataclass(frozen=True)
class TipFigures:
    """What became of one broadcast: recipients it reached, recipients who had blocked the
    bot, and unsubscribes within UNSUBSCRIBE_WITHIN of it (each for the latest tip the
    client got before unsubscribing)."""

    broadcast_id: int
    started_at: datetime
    delivered: int
    blocked: int
    unsubscribed: int


@dataclass(frozen=True)
class Stats:
    now: datetime
    days: tuple[int, ...]  # the windows, shortest first
    dates: tuple[date, ...]  # the widest window's clinic days, oldest first
    daily: dict[str, Counts]  # every kind in KINDS: one count per day of `dates`
    events: dict[str, Counts]  # every kind in KINDS
    sources: tuple[tuple[str | None, Counts], ...]  # new clients by source, busiest first
    other_sources: int  # how many more sources there are beyond `sources`
    others: Counts  # new clients from those
    tiers: dict[str, Counts]  # red-flag exits by tier, every tier in TIERS
    recommended: tuple[tuple[str, Counts], ...]  # finished screenings recommending each service
    broadcasts: Counts  # broadcasts started
    deliveries: tuple[tuple[str, Counts], ...]  # their recipients by status
    pain: PainChange | None = None  # pain score change after 4 weeks (all time)
    tips: tuple[TipFigures, ...] = ()  # the latest broadcasts in the widest window, newest first


def collect(
    session: Session,
    now: datetime,
    *,
    zone: tzinfo = UTC,
    days: Sequence[int] = WINDOWS,
    services: Sequence[str] = (),
    top: int = TOP_SOURCES,
) -> Stats:
    """The figures for the windows of clinic days (in `zone`) up to today. `services` (ids,
    in the order to show them) are listed even when nothing recommended them; an id not
    among them still counts."""
    windows = tuple(sorted(set(days)))
    clinic = clinic_days(now, zone, windows[-1])
    sinces = [clinic.since(d) for d in windows]
    widest, end = sinces[-1], clinic.starts[-1]
    in_range = and_(col(Event.at) >= widest, col(Event.at) < end)

    daily = daily_counts(session, clinic, KINDS)
    events = {kind: tuple(sum(daily[kind][-d:]) for d in windows) for kind in KINDS}
    # Changing the settings turns reminders "on" again: opt-ins count each client once per
    # window (an erased client's events are unlinked and count one each).
    opted = select(*_distinct_clients_per_window(sinces)).where(
        col(Event.kind) == "reminders_on", in_range
    )
    events["reminders_on"] = tuple(int(n) for n in session.execute(opted).one())

    # The facts inside `data`, grouped by the database (a few rows, whatever the events):
    # JSON paths work alike on SQLite and PostgreSQL; a result's services come as JSON text.
    data = col(Event.data)
    by_source: dict[str | None, list[int]] = {}
    for source, narrowest, n in _facts(
        session, "client_new", data["source"].as_string(), sinces, in_range
    ):
        _add(by_source.setdefault(source or None, [0] * len(windows)), narrowest, n)
    by_tier: dict[str, list[int]] = {tier: [0] * len(windows) for tier in TIERS}
    for tier, narrowest, n in _facts(
        session, "red_flag_exit", data["tier"].as_string(), sinces, in_range
    ):
        if tier in by_tier:
            _add(by_tier[tier], narrowest, n)
    by_service: dict[str, list[int]] = {}
    services_json = cast(data["services"], String)
    for listed, narrowest, n in _facts(
        session, "screening_finished", services_json, sinces, in_range
    ):
        for service in _services({"services": json.loads(listed) if listed else None}):
            _add(by_service.setdefault(service, [0] * len(windows)), narrowest, n)

    ranked = sorted(by_source.items(), key=lambda item: _busiest_first(item[0], item[1]))
    shown, rest = ranked[:top], ranked[top:]
    others = tuple(sum(counts[i] for _, counts in rest) for i in range(len(windows)))

    broadcasts = select(*_per_window(col(Broadcast.started_at), sinces)).where(
        col(Broadcast.started_at) >= widest
    )
    started = session.execute(broadcasts).one()
    per_status = (
        select(col(Delivery.status), *_per_window(col(Broadcast.started_at), sinces))
        .join(Broadcast, col(Broadcast.id) == col(Delivery.broadcast_id))
        .where(col(Broadcast.started_at) >= widest)
        .group_by(col(Delivery.status))
    )
    deliveries: dict[str, Counts] = dict.fromkeys(DELIVERY_STATUSES, _zero(windows))
    for status, *counts in session.execute(per_status).all():
        deliveries[status] = tuple(int(n) for n in counts)

    return Stats(
        now=now,
        days=windows,
        dates=clinic.dates,
        daily=daily,
        events=events,
        sources=tuple((source, tuple(counts)) for source, counts in shown),
        other_sources=len(rest),
        others=others,
        tiers={tier: tuple(counts) for tier, counts in by_tier.items()},
        recommended=_in_order(by_service, services, windows),
        broadcasts=tuple(int(n) for n in started),
        deliveries=tuple(deliveries.items()),
        pain=pain_change(session),
        tips=tip_figures(session, widest),
    )


def clinic_days(now: datetime, zone: tzinfo, count: int) -> ClinicDays:
    """The `count` clinic days ending with today (in `zone`), oldest first."""
    today = now.astimezone(zone).date()
    dates = tuple(today - timedelta(days=count - 1 - i) for i in range(count))
    starts = tuple(local_midnight(day, zone) for day in (*dates, today + timedelta(days=1)))
    return ClinicDays(zone, dates, starts)


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The UTC moment a local day begins (where a clock change skips midnight, the change)."""
    return at_local(day, time(), zone)


def daily_counts(session: Session, clinic: ClinicDays, kinds: Sequence[str]) -> dict[str, Counts]:
    """Events of each kind on each clinic day, in one statement: per day, a count grouped by
    kind between that day's two midnights (UTC moments from `clinic_days`, so a 23- or
    25-hour day is right), each an index range over event(kind, at); no function runs per
    row, and SQLite and PostgreSQL read it alike."""
    per_day = [
        select(literal(index).label("day"), col(Event.kind), func.count())
        .where(col(Event.kind).in_(kinds), col(Event.at) >= start, col(Event.at) < end)
        .group_by(col(Event.kind))
        for index, (start, end) in enumerate(pairwise(clinic.starts))
    ]
    counts = {kind: [0] * len(clinic.dates) for kind in kinds}
    for day, kind, n in session.execute(union_all(*per_day)).all():
        counts[kind][day] = int(n)
    return {kind: tuple(day_counts) for kind, day_counts in counts.items()}


def tip_figures(
    session: Session, since: datetime, limit: int = RECENT_TIPS
) -> tuple[TipFigures, ...]:
    """The latest `limit` broadcasts started since `since`, newest first, with their figures.
    An unsubscribe counts for the latest tip delivered to that client before it, if that
    came at most UNSUBSCRIBE_WITHIN earlier."""
    rows = session.exec(
        select(col(Broadcast.id), col(Broadcast.started_at))
        .where(col(Broadcast.started_at) >= since)
        .order_by(col(Broadcast.started_at).desc(), col(Broadcast.id).desc())
        .limit(limit)
    ).all()
    latest = [(bid, at) for bid, at in rows if bid is not None and at is not None]  # all are
    if not latest:
        return ()
    ids = [bid for bid, _ in latest]
    per_status = select(col(Delivery.broadcast_id), col(Delivery.status), func.count()).where(
        col(Delivery.broadcast_id).in_(ids),
        col(Delivery.status).in_((DeliveryStatus.SENT, DeliveryStatus.BLOCKED)),
    )
    statuses: dict[tuple[int, str], int] = {
        (bid, status): int(n)
        for bid, status, n in session.exec(
            per_status.group_by(col(Delivery.broadcast_id), col(Delivery.status))
        ).all()
    }
    # For each unsubscribe since the oldest tip shown: the tips that client got before it
    # (the latest counts, if it came at most 48 h before). No interval arithmetic in SQL:
    # SQLite has none.
    oldest = min(started for _, started in latest)
    candidates = (
        sa_select(  # (sqlmodel's select types four columns at most)
            col(Event.id),
            col(Event.at),
            col(Event.data),
            col(Delivery.broadcast_id),
            col(Delivery.updated_at),
        )
        .join(Delivery, col(Delivery.client_id) == col(Event.client_id))
        .where(
            col(Event.kind) == "consent_tips",
            col(Event.at) >= oldest,
            col(Delivery.status) == DeliveryStatus.SENT,
            col(Delivery.updated_at) >= oldest - UNSUBSCRIBE_WITHIN,
            col(Delivery.updated_at) <= col(Event.at),
        )
    )
    last_tip: dict[int, tuple[datetime, datetime, int]] = {}
    for event_id, at, data, bid, delivered_at in session.execute(candidates).all():
        if isinstance(data, dict) and data.get("agree") is False:
            last_tip[event_id] = max(
                last_tip.get(event_id, (delivered_at, at, bid)), (delivered_at, at, bid)
            )
    unsubscribed = Counter(
        bid for got, at, bid in last_tip.values() if at - got <= UNSUBSCRIBE_WITHIN
    )
    return tuple(
        TipFigures(
            broadcast_id=bid,
            started_at=started,
            delivered=statuses.get((bid, DeliveryStatus.SENT), 0),
            blocked=statuses.get((bid, DeliveryStatus.BLOCKED), 0),
            unsubscribed=unsubscribed[bid],
        )
        for bid, started in latest
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


def _facts(
    session: Session, kind: str, fact: ColumnElement[Any], sinces: Sequence[datetime], in_range: Any
) -> list[tuple[Any, int, int]]:
    """(fact, narrowest window, how many) for the events of one kind in range. Grouped in a
    subquery: PostgreSQL would not match a GROUP BY to the same expression's own parameters."""
    facts = (
        select(fact.label("fact"), _narrowest(col(Event.at), sinces).label("narrowest"))
        .where(col(Event.kind) == kind, in_range)
        .subquery()
    )
    grouped = select(facts.c.fact, facts.c.narrowest, func.count()).group_by(
        facts.c.fact, facts.c.narrowest
    )
    return [(fact, int(narrowest), int(n)) for fact, narrowest, n in session.execute(grouped)]


def _add(counts: list[int], narrowest: int, n: int = 1) -> None:
    for index in range(narrowest, len(counts)):
        counts[index] += n


def _zero(windows: Sequence[int]) -> Counts:
    return (0,) * len(windows)


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
