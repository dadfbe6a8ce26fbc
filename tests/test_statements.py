"""The benchmarks' statement count (storage.statements): names, and the tally of an update."""

from __future__ import annotations

import asyncio

import pytest

from storage import repo, statements
from storage.db import Database, upgrade


def test_statements_are_named_by_verb_and_table() -> None:
    name = statements.name_of
    conversation = (
        "SELECT client.id, (SELECT string_agg(answer.option_id, ',') FROM answer WHERE "
        "answer.screening_id = screening.id) AS anon_1 FROM client LEFT OUTER JOIN screening "
        "ON screening.client_id = client.id WHERE client.telegram_id = %(t)s FOR UPDATE OF client"
    )
    assert name(conversation) == "SELECT client+screening FOR UPDATE"
    assert name("INSERT INTO answer (a) VALUES (?)") == "INSERT answer"
    assert name('UPDATE "client" SET stage=? WHERE client.id = ?') == "UPDATE client"
    assert name("DELETE FROM answer WHERE answer.screening_id = ?") == "DELETE answer"
    assert name("INSERT INTO x (a) VALUES (1) ON CONFLICT (a) DO NOTHING") == "INSERT x ON CONFLICT"
    assert name("SELECT 1") == "SELECT"
    assert name("BEGIN IMMEDIATE") is None  # transactions are counted apart


def test_an_updates_statements_are_its_own(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted against the update, in the database threads too (PostgreSQL)."""
    monkeypatch.setattr(statements, "ENABLED", True)
    monkeypatch.setattr(statements, "_updates", [])
    upgrade(database_url)
    db = Database(database_url)  # counted: ENABLED
    user = repo.TelegramUser(7, "Ann")

    async def update() -> None:
        with statements.for_update(7):
            await db.run(lambda s: repo.create_client(s, user, 7, None))
            await db.run(lambda s: repo.get_client(s, 7))

    try:
        asyncio.run(update())
        asyncio.run(db.run(lambda s: repo.get_client(s, 7)))  # outside any update
    finally:
        asyncio.run(db.dispose())
    assert statements._updates == [
        {
            "chat": 7,
            "statements": {"INSERT client": 1, "INSERT event": 1, "SELECT client": 1},
            "transactions": 2,
        }
    ]
