"""Weekly pain check-ins (`PainCheckin`): asking once a week, recording an answer once, the
client's own series for /progress and /mydata, and the staff's "change after 4 weeks".

Claims are conditional writes, so a second replica, a restart or a double tap finds the work
done: a check-in is claimed by inserting its (client, week) row if absent, an answer by
updating the row only while it has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from dialogs.progress import Checkin
from storage.db import upsert_insert
from storage.models import PainCheckin, table_of

CHANGE_AFTER = timedelta(weeks=4)


def asked(session: Session, client_id: int, week: date) -> bool:
    """Whether this week's check-in has been sent to the client already."""
    statement = select(PainCheckin.id).where(
        PainCheckin.client_id == client_id, PainCheckin.week == week
    )
    return session.exec(statement).first() is not None


def claim(session: Session, client_id: int, week: date, now: datetime) -> bool:
    """Claim this week's check-in for sending: True only for the one caller that created its
    row (INSERT ... ON CONFLICT DO NOTHING, on PostgreSQL and SQLite alike)."""
    checkins = table_of(PainCheckin)
    statement = (
        upsert_insert(session)(checkins)
        .values(client_id=client_id, week=week, asked_at=now)
        .on_conflict_do_nothing(index_elements=["client_id", "week"])
        .returning(checkins.c.id)
    )
    # The returned row, not rowcount: psycopg reports -1 for an INSERT that may do nothing.
    return session.exec(statement).first() is not None


def unclaim(session: Session, client_id: int, week: date) -> None:
    """A claimed check-in that never left (no connection to Telegram): due again."""
    session.execute(
        delete(PainCheckin).where(
            col(PainCheckin.client_id) == client_id,
            col(PainCheckin.week) == week,
            col(PainCheckin.answered_at).is_(None),
        )
    )


def checkin(session: Session, client_id: int, week: date) -> PainCheckin | None:
    """The client's check-in of that week, if it was sent (a button press is judged by it)."""
    statement = select(PainCheckin).where(
        PainCheckin.client_id == client_id, PainCheckin.week == week
    )
    return session.exec(statement).first()


def previous_score(session: Session, client_id: int, week: date) -> int | None:
    """The client's latest answered score before `week`."""
    statement = (
        select(PainCheckin.score)
        .where(
            PainCheckin.client_id == client_id,
            col(PainCheckin.week) < week,
            col(PainCheckin.score).is_not(None),
        )
        .order_by(col(PainCheckin.week).desc())
    )
    return session.exec(statement).first()


def record(session: Session, client_id: int, week: date, score: int | None, now: datetime) -> bool:
    """Record an answer (`score` None: skipped) once: False if it had one already."""
    result = session.exec(
        update(PainCheckin)
        .where(
            col(PainCheckin.client_id) == client_id,
            col(PainCheckin.week) == week,
            col(PainCheckin.answered_at).is_(None),
        )
        .values(score=score, answered_at=now)
    )
    return bool(result.rowcount)


def scores(session: Session, client_id: int, since: date) -> dict[date, int]:
    """The client's answered scores by week, from the week of `since` on."""
    statement = select(col(PainCheckin.week), col(PainCheckin.score)).where(
        PainCheckin.client_id == client_id,
        col(PainCheckin.week) >= since,
        col(PainCheckin.score).is_not(None),
    )
    return {week: score for week, score in session.exec(statement).all() if score is not None}


def to_checkin(row: PainCheckin) -> Checkin:
    """A stored check-in as the dialogs read it."""
    return Checkin(row.week, row.score, row.answered_at is not None)


def all_checkins(session: Session, client_id: int) -> list[PainCheckin]:
    """Every check-in of the client, oldest first (for /mydata)."""
    statement = (
        select(PainCheckin)
        .where(PainCheckin.client_id == client_id)
        .order_by(col(PainCheckin.week))
    )
    return list(session.exec(statement).all())


def export(session: Session, client_id: int) -> list[dict[str, Any]]:
    """The check-ins as /mydata's JSON lists them."""
    return [
        c.model_dump(include={"week", "asked_at", "score", "answered_at"}, mode="json")
        for c in all_checkins(session, client_id)
    ]


def erase(session: Session, client_id: int) -> None:
    """Health consent withdrawn: the pain scores go."""
    session.execute(delete(PainCheckin).where(col(PainCheckin.client_id) == client_id))


@dataclass(frozen=True)
class PainChange:
    """Among clients with a first answer and another at least 4 weeks later: how many, and
    the average change in score (negative: less pain)."""

    clients: int
    average: float | None


def pain_change(session: Session) -> PainChange:
    """Each client's first answered score against their first answer at least
    `CHANGE_AFTER` later (the 4-week mark, not whatever came last), averaged over clients.
    One aggregate statement: the database returns one row, however many check-ins there are."""
    answered = col(PainCheckin.score).is_not(None)
    firsts = (
        select(col(PainCheckin.client_id), func.min(PainCheckin.week).label("week"))
        .where(answered)
        .group_by(col(PainCheckin.client_id))
        .subquery("firsts")
    )
    later = _plus_days(session, firsts.c.week, CHANGE_AFTER.days)
    marks = (
        select(col(PainCheckin.client_id), func.min(PainCheckin.week).label("week"))
        .join(firsts, firsts.c.client_id == col(PainCheckin.client_id))
        .where(answered, col(PainCheckin.week) >= later)
        .group_by(col(PainCheckin.client_id))
        .subquery("marks")
    )
    start, mark = aliased(PainCheckin), aliased(PainCheckin)
    statement = (
        select(func.count(), func.avg(col(mark.score) - col(start.score)))
        .select_from(firsts)
        .join(marks, marks.c.client_id == firsts.c.client_id)
        .join(
            start,
            and_(col(start.client_id) == firsts.c.client_id, col(start.week) == firsts.c.week),
        )
        .join(mark, and_(col(mark.client_id) == marks.c.client_id, col(mark.week) == marks.c.week))
    )
    clients, average = session.execute(statement).one()
    if not clients:
        return PainChange(0, None)
    return PainChange(int(clients), float(average))


def _plus_days(session: Session, day: ColumnElement[date], days: int) -> ColumnElement[date]:
    """`day` (a DATE column) plus `days` days, in SQL: SQLite keeps dates as ISO text and has
    no date arithmetic but its date() function; PostgreSQL adds whole days to a date."""
    if session.get_bind().dialect.name == "postgresql":
        return day + days
    return func.date(day, f"+{days} days")
