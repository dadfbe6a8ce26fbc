"""One update of a chat at a time, whichever process handles it: a second transaction that
loads the same client's conversation waits until the first has finished (PostgreSQL: a row
lock; SQLite: one writer). Two replicas handed the same chat's updates cannot both read the
same state and answer it twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as StillWaiting

import pytest

from storage import repo
from storage.db import Database
from storage.models import Client, Screening


def test_a_second_update_of_the_same_chat_waits_for_the_first(db: Database) -> None:
    with db.session() as session:
        session.add(Client(telegram_id=1, chat_id=1))
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with db.session() as session:
            assert repo.conversation(session, 1) is not None
            holding.set()
            release.wait(10)

    def second(telegram_id: int) -> int:
        with db.session() as session:
            found = repo.conversation(session, telegram_id)
            assert found is not None
            return found.client.telegram_id

    with ThreadPoolExecutor(3) as pool:
        held = pool.submit(first)
        assert holding.wait(10)
        same_chat = pool.submit(second, 1)
        with pytest.raises(StillWaiting):
            same_chat.result(timeout=1.0)  # still waiting: the first has not finished
        release.set()
        held.result(10)
        assert same_chat.result(10) == 1


def test_the_second_update_reads_what_the_first_wrote(db: Database) -> None:
    """A double tap across replicas: the waiting update goes on from the state the first one
    left (its answer, its screening), never from what it read before waiting, so the same
    press is not answered twice nor a second screening started."""
    with db.session() as session:
        client = Client(telegram_id=1, chat_id=1)
        session.add(client)
        session.flush()
        session.add(Screening(client_id=client.id, key="k1", questionnaire_version=1))
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with db.session() as session:
            found = repo.conversation(session, 1)
            assert found is not None and found.screening is not None
            assert found.screening.id is not None
            repo.sync_answers(session, found.screening.id, found.answers, (("q1", "o1"),))
            session.flush()
            holding.set()
            release.wait(10)

    def second() -> tuple[tuple[str, str], ...]:
        with db.session() as session:
            found = repo.conversation(session, 1)
            assert found is not None
            return found.answers

    with ThreadPoolExecutor(2) as pool:
        held = pool.submit(first)
        assert holding.wait(10)
        waiting = pool.submit(second)
        with pytest.raises(StillWaiting):
            waiting.result(timeout=1.0)
        release.set()
        held.result(10)
        assert waiting.result(10) == (("q1", "o1"),)
