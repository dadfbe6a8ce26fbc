"""The /stats figures straight from a database (SQLite and PostgreSQL), and their message."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dialogs.questionnaire import load_questionnaire
from dialogs.render import render
from dialogs.telegram_html import check_message_html
from storage.db import Database
from storage.models import Broadcast, Client, Delivery, Event
from storage.stats import (
    DELIVERY_STATUSES,
    clinic_days,
    collect,
    daily_counts,
    local_midnight,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SERVICES = load_questionnaire().services


def add_events(db: Database, *events: tuple[str, float, dict[str, Any] | None]) -> None:
    """(kind, days ago, data) each."""
    with db.session() as session:
        for kind, days_ago, data in events:
            session.add(Event(kind=kind, at=NOW - timedelta(days=days_ago), data=data))


def figures(db: Database, **options: Any):  # type: ignore[no-untyped-def]
    with db.session() as session:
        return collect(session, NOW, services=tuple(SERVICES), **options)


def test_an_empty_database_gives_zeros_and_a_valid_message(db: Database) -> None:
    stats = figures(db)
    assert stats.days == (7, 30)
    assert set(stats.events.values()) == {(0, 0)}
    assert stats.sources == () and stats.other_sources == 0
    assert stats.broadcasts == (0, 0)
    assert [service for service, _ in stats.recommended] == list(SERVICES)
    text = render("staff/stats", stats=stats, services=SERVICES, local_now=NOW)
    check_message_html(text)
    assert "New clients: 0 / 0" in text and "Broadcasts started: 0 / 0" in text


def test_windows_kinds_sources_services_and_tiers(db: Database) -> None:
    add_events(
        db,
        ("client_new", 1, {"source": "spring_flyer"}),
        ("client_new", 2, {"source": None}),
        ("client_new", 10, {"source": "spring_flyer"}),
        ("client_new", 29.4, None),  # the 30 days start at midnight
        ("client_new", 29.6, {"source": "too_old"}),
        ("screening_started", 1, None),
        ("screening_started", 8, None),
        ("screening_finished", 1, {"band": "strong", "services": ["tnt", "laser"]}),
        ("screening_finished", 20, {"band": "mild", "services": ["retired_service"]}),
        ("screening_finished", 21, {"band": "mild", "services": []}),
        ("red_flag_exit", 3, {"tier": "A"}),
        ("red_flag_exit", 15, {"tier": "B"}),
        ("booking_shown", 6.4, None),
        ("handoff", 6.6, None),  # before the 7th midnight back
        ("reminders_on", 0, {"interval": 3600}),
        ("break_done", 40, None),
        ("consent_tips", 1, {"agree": True}),  # not a figure
    )
    stats = figures(db)
    assert stats.events["client_new"] == (2, 4)
    assert stats.events["screening_started"] == (1, 2)
    assert stats.events["screening_finished"] == (1, 3)
    assert stats.events["red_flag_exit"] == (1, 2)
    assert stats.events["booking_shown"] == (1, 1)
    assert stats.events["handoff"] == (0, 1)
    assert stats.events["reminders_on"] == (1, 1)
    assert stats.events["break_done"] == (0, 0)
    assert stats.sources == (("spring_flyer", (1, 2)), (None, (1, 2)))
    assert stats.tiers == {"A": (1, 1), "B": (0, 1)}
    recommended = dict(stats.recommended)
    assert recommended["tnt"] == (1, 1) and recommended["pain_eliminator"] == (0, 0)
    assert recommended["laser"] == (1, 1), "every service a result recommends is credited"
    assert stats.recommended[-1] == ("retired_service", (0, 1))

    text = render("staff/stats", stats=stats, services=SERVICES, local_now=NOW)
    check_message_html(text)
    for line in (
        "• spring_flyer: 1 / 2",
        "• direct: 1 / 2",
        "• Red-flag exits: 1 / 2 (tier A 1 / 1, tier B 0 / 1)",
        "• TNT Treatment and Training: 1 / 1",
        "• retired_service: 0 / 1",
    ):
        assert line in text.splitlines(), line


def test_reminder_opt_ins_count_each_client_once(db: Database) -> None:
    with db.session() as session:
        client = Client(telegram_id=1, chat_id=1)
        session.add(client)
        session.flush()
        for days_ago in (1, 2, 20):  # on, then two settings changes: one opt-in
            at = NOW - timedelta(days=days_ago)
            session.add(Event(kind="reminders_on", at=at, client_id=client.id))
        session.add(Event(kind="reminders_on", at=NOW - timedelta(days=3)))  # an erased client
    assert figures(db).events["reminders_on"] == (2, 2)


def test_sources_are_capped_escaped_and_kept_short(db: Database) -> None:
    hostile = "<b>&amp;" + "x" * 80
    add_events(
        db,
        *[("client_new", 1, {"source": f"src_{i:02}_" + "y" * 50}) for i in range(30)],
        *[("client_new", 2, {"source": hostile}) for _ in range(3)],
    )
    stats = figures(db, top=10)
    assert stats.sources[0] == (hostile, (3, 3))
    assert len(stats.sources) == 10
    assert stats.other_sources == 21 and stats.others == (21, 21)
    text = render("staff/stats", stats=stats, services=SERVICES, local_now=NOW)
    parsed = check_message_html(text)  # raises on anything Telegram would refuse
    assert "&lt;b&gt;&amp;amp;" in text and "<b>&amp;" not in text
    assert "• 21 other sources: 21 / 21" in parsed.text
    assert len(text) < 4096


def test_broadcasts_started_in_each_window_and_their_deliveries(db: Database) -> None:
    with db.session() as session:
        clients = [Client(telegram_id=100 + i, chat_id=100 + i) for i in range(3)]
        session.add_all(clients)
        recent = Broadcast(staff_id=1, status="done", started_at=NOW - timedelta(days=2))
        older = Broadcast(staff_id=1, status="done", started_at=NOW - timedelta(days=12))
        ancient = Broadcast(staff_id=1, status="done", started_at=NOW - timedelta(days=45))
        draft = Broadcast(staff_id=1, status="draft")  # never started
        session.add_all([recent, older, ancient, draft])
        session.flush()
        rows = [
            (recent, clients[0], "sent"),
            (recent, clients[1], "blocked"),
            (recent, clients[2], "strange"),
            (older, clients[0], "sent"),
            (older, clients[1], "unconfirmed"),
            (ancient, clients[0], "sent"),
        ]
        for broadcast, client, status in rows:
            session.add(
                Delivery(
                    broadcast_id=broadcast.id,  # type: ignore[arg-type]
                    client_id=client.id,  # type: ignore[arg-type]
                    chat_id=client.chat_id,
                    status=status,
                )
            )
    stats = figures(db)
    assert stats.broadcasts == (1, 2)
    deliveries = dict(stats.deliveries)
    assert list(deliveries)[: len(DELIVERY_STATUSES)] == list(DELIVERY_STATUSES)
    assert deliveries["sent"] == (1, 2)
    assert deliveries["blocked"] == (1, 1)
    assert deliveries["unconfirmed"] == (0, 1)
    assert deliveries["failed"] == (0, 0)
    assert deliveries["strange"] == (1, 1)
    text = render("staff/stats", stats=stats, services=SERVICES, local_now=NOW)
    check_message_html(text)
    assert "• delivered: 1 / 2" in text.splitlines()
    assert "• strange: 1 / 1" in text.splitlines()


LONDON = ZoneInfo("Europe/London")


def test_clinic_days_are_local_calendar_days_across_a_clock_change() -> None:
    # 2026-10-25: London leaves summer time at 02:00 local (01:00 UTC); that day has 25 hours.
    now = datetime(2026, 10, 27, 23, 30, tzinfo=UTC)  # already 28 Oct in Auckland
    days = clinic_days(now, LONDON, 4)
    assert days.dates == tuple(date(2026, 10, d) for d in (24, 25, 26, 27))
    assert [s.hour for s in days.starts] == [23, 23, 0, 0, 0]  # BST midnight is 23:00 UTC
    assert days.starts[2] - days.starts[1] == timedelta(hours=25)
    assert days.since(2) == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)
    assert clinic_days(now, ZoneInfo("Pacific/Auckland"), 1).dates == (date(2026, 10, 28),)
    # A zone whose clocks skip midnight: that day begins at the change.
    santiago = ZoneInfo("America/Santiago")
    assert local_midnight(date(2026, 9, 6), santiago) == datetime(2026, 9, 6, 4, tzinfo=UTC)


def test_events_are_counted_on_the_clinic_day_they_happened(db: Database) -> None:
    now = datetime(2026, 10, 27, 12, 0, tzinfo=UTC)
    moments = [
        datetime(2026, 10, 23, 23, 30, tzinfo=UTC),  # 24 Oct 00:30 BST: the first day
        datetime(2026, 10, 23, 22, 59, 59, tzinfo=UTC),  # 23 Oct 23:59:59 BST: before it
        datetime(2026, 10, 24, 22, 59, 59, tzinfo=UTC),  # 24 Oct, last second
        datetime(2026, 10, 24, 23, 0, 0, tzinfo=UTC),  # 25 Oct, first second
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 25 Oct 01:30 BST
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 25 Oct 01:30 GMT, the hour again
        datetime(2026, 10, 25, 23, 59, 59, 999999, tzinfo=UTC),  # 25 Oct, last moment
        datetime(2026, 10, 27, 11, 0, tzinfo=UTC),  # today
    ]
    with db.session() as session:
        session.add_all(Event(kind="break_done", at=at) for at in moments)
        session.add(Event(kind="handoff", at=datetime(2026, 10, 26, 9, tzinfo=UTC)))
    with db.session() as session:
        days = clinic_days(now, LONDON, 4)
        daily = daily_counts(session, days, ("break_done", "handoff", "client_new"))
        stats = collect(session, now, zone=LONDON, days=(2, 4))
    assert daily == {
        "break_done": (2, 4, 0, 1),
        "handoff": (0, 0, 1, 0),
        "client_new": (0, 0, 0, 0),
    }
    assert stats.dates == days.dates and stats.daily["break_done"] == (2, 4, 0, 1)
    assert stats.events["break_done"] == (1, 7), "the windows are the series' sums"
