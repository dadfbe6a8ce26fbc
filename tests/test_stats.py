"""The /stats figures straight from a database (SQLite and PostgreSQL), and their message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dialogs.questionnaire import load_questionnaire
from dialogs.render import render
from dialogs.telegram_html import check_message_html
from storage.db import Database
from storage.models import Broadcast, Client, Delivery, Event
from storage.stats import DELIVERY_STATUSES, collect

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
        ("client_new", 29.9, None),
        ("client_new", 31, {"source": "too_old"}),
        ("screening_started", 1, None),
        ("screening_started", 8, None),
        ("screening_finished", 1, {"band": "strong", "services": ["tnt", "laser"]}),
        ("screening_finished", 20, {"band": "mild", "services": ["retired_service"]}),
        ("screening_finished", 21, {"band": "mild", "services": []}),
        ("red_flag_exit", 3, {"tier": "A"}),
        ("red_flag_exit", 15, {"tier": "B"}),
        ("booking_shown", 6.9, None),
        ("handoff", 7.1, None),
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
