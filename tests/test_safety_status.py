"""The safety status in storage, on both databases: a lift is dated, and withdrawing health
consent erases the symptom and dates but keeps a hold (no tips or prompts restart)."""

from __future__ import annotations

from storage import repo
from storage.db import Database
from storage.models import Client


def client_with(db: Database, **values: object) -> Client:
    with db.session() as session:
        client = Client(telegram_id=1, chat_id=1, health_consent=True, **values)  # type: ignore[arg-type]
        session.add(client)
        repo.set_safety(client, "B", "fever")
    with db.session() as session:
        return repo.get_client(session, 1)  # type: ignore[return-value]


def test_a_lift_is_dated_and_a_new_flag_replaces_the_old(db: Database) -> None:
    held = client_with(db)
    assert (held.safety_tier, held.safety_symptom) == ("B", "fever") and held.safety_at
    with db.session() as session:
        client = repo.get_client(session, 1)
        repo.set_safety(client, None, None)  # "a doctor has checked me"
    with db.session() as session:
        client = repo.get_client(session, 1)
        assert client.safety_tier is None and client.safety_at is None
        assert client.safety_cleared_at is not None
        lifted_at = client.safety_cleared_at
        repo.set_safety(client, "A", "chest")  # flagged again, later
    with db.session() as session:
        client = repo.get_client(session, 1)
        assert (client.safety_tier, client.safety_symptom) == ("A", "chest")
        assert client.safety_at is not None and client.safety_at >= lifted_at
        assert client.safety_cleared_at == lifted_at, "the earlier lift stays on record"


def test_withdrawing_consent_keeps_the_hold_without_its_details(db: Database) -> None:
    client_with(db, tips_consent=True)
    with db.session() as session:
        repo.withdraw_health_consent(session, repo.get_client(session, 1))
    with db.session() as session:
        client = repo.get_client(session, 1)
        assert client.health_consent is False
        assert (client.safety_tier, client.safety_symptom, client.safety_at) == ("B", None, None)
