"""The Alembic migrations create exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

from storage import models  # noqa: F401  (the tables)
from storage.db import alembic_config, current_revision, sync_url, upgrade


def test_migrations_match_the_models_and_go_both_ways(database_url: str) -> None:
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert current_revision(database_url) == "0004"
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
