"""The replicas' shared view of Telegram's budget (one row per running replica)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from storage.models import SendMeter


def publish(session: Session, replica: str, reply_rate: float, now: datetime) -> None:
    row = session.get(SendMeter, replica)
    if row is None:
        session.add(SendMeter(replica=replica, reply_rate=reply_rate, updated_at=now))
    else:
        row.reply_rate, row.updated_at = reply_rate, now


def others(session: Session, replica: str, since: datetime) -> float:
    """The reply rate of the other replicas that reported since `since` (live ones)."""
    total = session.exec(
        select(func.coalesce(func.sum(SendMeter.reply_rate), 0.0)).where(
            col(SendMeter.replica) != replica, col(SendMeter.updated_at) >= since
        )
    ).one()
    return float(total)


def withdraw(session: Session, replica: str, stale_before: datetime) -> None:
    """This replica stops (and rows of replicas long gone are swept)."""
    session.execute(
        delete(SendMeter).where(
            (col(SendMeter.replica) == replica) | (col(SendMeter.updated_at) < stale_before)
        )
    )
