"""The Alembic migrations create exactly the schema the models describe, on both backends."""

from __future__ import annotations

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel, select

from storage import models, repo
from storage.db import Database, alembic_config, current_revision, sync_url, upgrade


def test_migrations_match_the_models_and_go_both_ways(database_url: str) -> None:
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert current_revision(database_url) == "0012"
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
        upgrade(database_url)  # idempotent
        command.downgrade(alembic_config(database_url), "base")
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
    finally:
        engine.dispose()


def test_hand_offs_from_before_0002_stay_linked(database_url: str) -> None:
    upgrade(database_url, "0001")
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO client (telegram_id, chat_id, first_name, stage, blocked,"
                    " created_at, last_active_at) VALUES (5, 5, 'A', 'idle', false, :now, :now)"
                ),
                {"now": "2026-11-01 10:00:00"},
            )
            connection.execute(
                text(
                    "INSERT INTO handoff (client_id, staff_message_id, created_at)"
                    " SELECT id, 42, :now FROM client"
                ),
                {"now": "2026-11-01 10:00:00"},
            )
        upgrade(database_url)
        with engine.connect() as connection:
            row = connection.execute(text("SELECT kind, status, staff_message_id FROM handoff"))
            assert row.one() == ("request", "sent", 42)
    finally:
        engine.dispose()


def test_red_flag_exits_from_before_0005_keep_their_clients_held(database_url: str) -> None:
    upgrade(database_url, "0004")
    engine = create_engine(sync_url(database_url))
    now = {"now": "2026-11-01 10:00:00", "later": "2026-11-02 10:00:00"}
    try:
        with engine.begin() as connection:
            for n, consent in ((1, True), (2, True), (3, False)):
                connection.execute(
                    text(
                        "INSERT INTO client (telegram_id, chat_id, first_name, stage, blocked,"
                        " health_consent, created_at, last_active_at)"
                        " VALUES (:n, :n, 'A', 'idle', false, :consent, :now, :now)"
                    ),
                    {"n": n, "consent": consent, **now},
                )
            # Client 1's latest screening ended at a tier B red flag; client 2's red flag was
            # followed by a completed screening; client 3 (no consent) is never marked.
            for client, key, status, tier, at in (
                (1, "a", "completed", None, "now"),
                (1, "b", "red_flag", "B", "later"),
                (2, "c", "red_flag", "A", "now"),
                (2, "d", "completed", None, "later"),
            ):
                connection.execute(
                    text(
                        "INSERT INTO screening (client_id, key, questionnaire_version, status,"
                        " red_flag_tier, started_at, finished_at) SELECT id, :key, 2, :status,"
                        " :tier, :now, :at FROM client WHERE telegram_id = :client"
                    ),
                    {
                        "client": client,
                        "key": key,
                        "status": status,
                        "tier": tier,
                        **now,
                        "at": now[at],
                    },
                )
        upgrade(database_url)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT telegram_id, safety_tier FROM client ORDER BY telegram_id")
            )
            assert rows.all() == [(1, "B"), (2, None), (3, None)]
    finally:
        engine.dispose()


def test_broadcast_history_survives_0006_and_a_clients_erasure(database_url: str) -> None:
    upgrade(database_url, "0005")
    engine = create_engine(sync_url(database_url))
    now = {"now": "2026-11-01 10:00:00"}
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO client (telegram_id, chat_id, first_name, stage, blocked,"
                    " created_at, last_active_at) VALUES (7, 7, 'A', 'idle', false, :now, :now)"
                ),
                now,
            )
            connection.execute(
                text(
                    "INSERT INTO broadcast (staff_id, status, segment, created_at)"
                    " VALUES (1, 'done', 'all', :now)"
                ),
                now,
            )
            connection.execute(
                text(
                    "INSERT INTO delivery (broadcast_id, client_id, chat_id, status, updated_at)"
                    " SELECT broadcast.id, client.id, 7, 'sent', :now FROM client, broadcast"
                ),
                now,
            )
        upgrade(database_url)
    finally:
        engine.dispose()
    database = Database(database_url)
    try:
        with database.session() as session:
            (client,) = session.exec(select(models.Client)).all()
            repo.delete_client(session, client)
        with database.session() as session:
            (delivery,) = session.exec(select(models.Delivery)).all()
            assert (delivery.status, delivery.client_id, delivery.chat_id) == ("sent", None, None)
            dropped = models.Broadcast(staff_id=1, segment="all")
            session.add(dropped)
        with database.session() as session:
            session.execute(text(f"DELETE FROM broadcast WHERE id = {dropped.id}"))
            after = models.Broadcast(staff_id=1, segment="all")
            session.add(after)
            session.flush()
            assert after.id > dropped.id, "a dropped draft's number is not given out again"
    finally:
        database.engine.dispose()


def test_red_flag_events_keep_their_tier_and_lose_the_symptom_at_0012(database_url: str) -> None:
    upgrade(database_url, "0011")
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as connection:
            for kind, data in (
                ("red_flag_exit", '{"tier": "B", "symptom": "cancer"}'),
                ("emergency_text", '{"symptom": "saddle"}'),
                ("booking_shown", '{"services": ["tnt"]}'),
            ):
                connection.execute(
                    text("INSERT INTO event (kind, at, data) VALUES (:kind, :at, :data)"),
                    {"kind": kind, "at": "2026-11-01 10:00:00", "data": data},
                )
        upgrade(database_url)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT kind, data FROM event ORDER BY id")).all()
        datas = [json.loads(d) if isinstance(d, str) else d for _, d in rows]
        assert datas == [{"tier": "B"}, {"tier": "A"}, {"services": ["tnt"]}]
    finally:
        engine.dispose()
