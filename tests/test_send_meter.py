"""The replicas' shared budget table on both databases: each replica sees the others' live
reply rates, not its own and not those of replicas gone quiet."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from storage import send_meter
from storage.db import Database
from storage.models import SendMeter, utcnow


def test_each_replica_sees_the_live_others(db: Database) -> None:
    now = utcnow()
    with db.session() as session:
        send_meter.publish(session, "a", 4.0, now)
        send_meter.publish(session, "b", 2.5, now)
        send_meter.publish(session, "gone", 9.0, now - timedelta(minutes=5))
    with db.session() as session:
        send_meter.publish(session, "a", 5.0, now)  # a second report replaces the first
        assert send_meter.others(session, "a", now - timedelta(seconds=5)) == 2.5
        assert send_meter.others(session, "b", now - timedelta(seconds=5)) == 5.0
    with db.session() as session:
        send_meter.withdraw(session, "a", now - timedelta(minutes=1))
    with db.session() as session:
        assert list(session.exec(select(SendMeter.replica)).all()) == ["b"]
