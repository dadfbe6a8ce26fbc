"""Who a broadcast reaches: the opted-in clients and each segment, on both databases."""

from __future__ import annotations

from datetime import timedelta

from storage import broadcasts, repo
from storage.db import Database
from storage.models import Client, Handoff, ReminderPlan, Screening, utcnow


def add_client(db: Database, n: int, **values: object) -> int:
    with db.session() as session:
        client = Client(telegram_id=n, chat_id=n, first_name=f"C{n}", **values)  # type: ignore[arg-type]
        session.add(client)
        session.flush()
        return client.id  # type: ignore[return-value]


def screened(db: Database, client_id: int, *services: str, ago: int = 0) -> None:
    """A finished screening `ago` days back: a result, or a red flag if no services."""
    with db.session() as session:
        session.add(
            Screening(
                client_id=client_id,
                key=f"k{client_id}-{ago}",
                questionnaire_version=2,
                status="completed" if services else "red_flag",
                red_flag_tier=None if services else "B",
                finished_at=utcnow() - timedelta(days=ago),
                result={"services": list(services)} if services else None,
            )
        )


def members(db: Database) -> dict[str, list[int]]:
    with db.session() as session:
        found = broadcasts.segment_members(session)
    return {name: [r.chat_id for r in people] for name, people in found.items()}


def test_segments(db: Database) -> None:
    yes = {"tips_consent": True}
    a = add_client(db, 1, source="flyer", **yes)  # reminders on, recommended TNT
    b = add_client(db, 2, **yes)  # recommended PE + laser, then asked for a booking
    c = add_client(db, 3, **yes)  # recommended TNT earlier, but the last one ended at a red flag
    add_client(db, 4, source="flyer", tips_consent=False)  # said no to tips
    add_client(db, 5, source="flyer", blocked=True, **yes)  # blocked the bot
    d = add_client(db, 6, source="<b>&", **yes)  # paused reminders, never screened
    with db.session() as session:
        session.add(ReminderPlan(client_id=a, status="active"))
        session.add(ReminderPlan(client_id=d, status="off"))
        session.add(Handoff(client_id=b, kind="request", status="sent"))
    screened(db, a, "pain_eliminator", ago=3)
    screened(db, a, "tnt", ago=1)
    screened(db, b, "pain_eliminator", "laser")
    screened(db, c, "tnt", ago=5)
    screened(db, c, ago=1)
    assert members(db) == {
        "all": [1, 2, 3, 6],
        "reminders": [1],
        "service:laser": [2],
        "service:pain_eliminator": [2],
        "service:tnt": [1],
        "no_booking": [1],
        "source:flyer": [1],
        "source:<b>&": [6],
    }
    with db.session() as session:
        assert broadcasts.audience(session, "source:gone") == []
        assert broadcasts.segment_counts(session)["all"] == 4


def test_a_client_whose_conversation_was_closed_still_asked_for_a_booking(db: Database) -> None:
    asked = add_client(db, 1, tips_consent=True)
    never = add_client(db, 2, tips_consent=True)
    for client_id in (asked, never):
        screened(db, client_id, "tnt")
    with db.session() as session:  # staff answered and closed it
        session.add(Handoff(client_id=asked, kind="request", status="closed"))
    assert members(db)["no_booking"] == [2]


def test_nobody_yet(db: Database) -> None:
    add_client(db, 1, tips_consent=False)
    assert members(db) == {"all": []}


def test_held_clients_are_in_no_audience_and_their_plans_are_never_due(db: Database) -> None:
    """The safety gate sits in the queries: tier A or B is left out where rows are chosen."""
    yes = {"tips_consent": True, "source": "flyer"}
    due = utcnow() - timedelta(seconds=5)
    ids = {
        tier: add_client(db, n, safety_tier=tier, **yes)
        for n, tier in ((1, None), (2, "A"), (3, "B"), (4, "C"))
    }
    with db.session() as session:
        for client_id in ids.values():
            session.add(
                ReminderPlan(
                    client_id=client_id, status="active", next_due_at=due, summary_due_at=due
                )
            )
    everyone_but_held = [1, 4]
    assert {name: chats for name, chats in members(db).items()} == {
        "all": everyone_but_held,
        "reminders": everyone_but_held,
        "source:flyer": everyone_but_held,
    }
    with db.session() as session:
        assert broadcasts.held_back(session, "all") == 2
        assert broadcasts.held_back(session, "source:flyer") == 2
        assert broadcasts.held_back(session, "reminders") == 2
        assert broadcasts.held_back(session, "source:elsewhere") == 0
        prompts = repo.due_prompts(session, utcnow(), 10)
        summaries = repo.due_summaries(session, utcnow(), 10)
        assert sorted(c.telegram_id for _, c in prompts) == everyone_but_held
        assert sorted(c.telegram_id for _, c in summaries) == everyone_but_held
