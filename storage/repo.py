"""The queries the bot needs, named for what they mean. Each takes an open session: one
transaction per update, run in the database thread (see `Database.run`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, update
from sqlmodel import Session, col, select

from storage.models import Answer, Client, Event, Handoff, Screening, utcnow


@dataclass(frozen=True)
class TelegramUser:
    """The parts of a Telegram user the bot keeps."""

    id: int
    first_name: str
    username: str | None = None


# --- clients -----------------------------------------------------------------------------------


def get_client(session: Session, telegram_id: int) -> Client | None:
    result = session.exec(select(Client).where(Client.telegram_id == telegram_id))
    return result.first()


def create_client(session: Session, user: TelegramUser, chat_id: int, source: str | None) -> Client:
    """A new client on first contact (no health data: that waits for consent)."""
    client = Client(
        telegram_id=user.id,
        chat_id=chat_id,
        first_name=user.first_name[:128],
        username=user.username,
        source=source,
    )
    session.add(client)
    session.flush()
    record_event(session, client.id, "client_new", {"source": source})
    return client


def set_blocked(session: Session, telegram_id: int, blocked: bool) -> bool:
    """Mark a client as having blocked the bot (or come back). False if we don't know them."""
    values: dict[str, Any] = {"blocked": blocked, "blocked_at": utcnow() if blocked else None}
    result = session.execute(
        update(Client).where(col(Client.telegram_id) == telegram_id).values(**values)
    )
    return bool(result.rowcount)


def set_tips_consent(session: Session, client: Client, agree: bool) -> None:
    client.tips_consent = agree
    client.tips_consent_at = utcnow()
    record_event(session, client.id, "consent_tips", {"agree": agree})


def withdraw_health_consent(session: Session, client: Client) -> None:
    """Consent withdrawn: erase every health answer and result, keep the rest."""
    session.execute(delete(Screening).where(col(Screening.client_id) == client.id))
    client.health_consent = False
    client.health_consent_at = utcnow()
    if client.stage == "screening":
        client.stage = "idle"
    record_event(session, client.id, "consent_health", {"agree": False})


def give_health_consent(session: Session, client: Client) -> None:
    client.health_consent = True
    client.health_consent_at = utcnow()
    record_event(session, client.id, "consent_health", {"agree": True})


def delete_client(session: Session, client: Client) -> None:
    """Erase a client and everything about them; their events stay, unlinked, for counts."""
    session.execute(update(Event).where(col(Event.client_id) == client.id).values(client_id=None))
    session.delete(client)


def erase_inactive(session: Session, before: datetime) -> int:
    """Erase every client inactive since before `before`. Returns how many."""
    stale = (session.exec(select(Client).where(Client.last_active_at < before))).all()
    for client in stale:
        delete_client(session, client)
    return len(stale)


# --- the conversation state --------------------------------------------------------------------


# Built once: constructing a statement costs more than running it on SQLite.
_CLIENT_AND_SCREENING = (
    select(Client, Screening)
    .outerjoin(
        Screening,
        and_(col(Screening.client_id) == col(Client.id), col(Screening.status) == "in_progress"),
    )
    .where(col(Client.telegram_id) == bindparam("telegram_id"))
)
_ANSWER_PAIRS = (
    select(col(Answer.question_id), col(Answer.option_id))
    .where(col(Answer.screening_id) == bindparam("screening_id"))
    .order_by(col(Answer.position))
)
Pairs = tuple[tuple[str, str], ...]


def conversation(session: Session, telegram_id: int) -> tuple[Client, Screening | None] | None:
    """In one query: the client and their screening in progress, if any. None if unknown."""
    row = session.exec(_CLIENT_AND_SCREENING, params={"telegram_id": telegram_id}).first()
    return None if row is None else (row[0], row[1])


def answer_pairs(session: Session, screening_id: int) -> Pairs:
    """A screening's answers in order, as (question id, option id): plain tuples, no objects."""
    rows = session.exec(_ANSWER_PAIRS, params={"screening_id": screening_id}).all()
    return tuple((question_id, option_id) for question_id, option_id in rows)


def screening_answers(session: Session, screening_id: int) -> list[Answer]:
    result = session.exec(
        select(Answer).where(Answer.screening_id == screening_id).order_by(col(Answer.position))
    )
    return list(result.all())


def sync_answers(session: Session, screening_id: int, stored: Pairs, answers: Pairs) -> None:
    """Make the stored answers (`stored`, as loaded) equal `answers`: keep the common start,
    replace the rest. Usually that is one INSERT: the answer just given."""
    same = 0
    while same < min(len(stored), len(answers)) and stored[same] == answers[same]:
        same += 1
    if len(stored) > same:
        session.execute(
            delete(Answer).where(
                col(Answer.screening_id) == screening_id, col(Answer.position) >= same
            )
        )
    new = [
        {
            "screening_id": screening_id,
            "position": position,
            "question_id": question_id,
            "option_id": option_id,
            "answered_at": utcnow(),
        }
        for position, (question_id, option_id) in enumerate(answers[same:], start=same)
    ]
    if new:
        session.execute(insert(Answer), new)


def retire_screening(session: Session, screening: Screening) -> None:
    """End a screening that cannot be continued, and erase its answers."""
    screening.status = "cancelled"
    screening.finished_at = utcnow()
    session.execute(delete(Answer).where(col(Answer.screening_id) == screening.id))


def latest_finished_screening(session: Session, client_id: int) -> Screening | None:
    result = session.exec(
        select(Screening)
        .where(
            Screening.client_id == client_id, col(Screening.status).in_(("completed", "red_flag"))
        )
        .order_by(col(Screening.finished_at).desc())
    )
    return result.first()


# --- events and hand-offs ----------------------------------------------------------------------


def record_event(
    session: Session, client_id: int | None, kind: str, data: dict[str, Any] | None = None
) -> None:
    session.execute(
        insert(Event).values(client_id=client_id, kind=kind, at=utcnow(), data=data or None)
    )


def create_handoff(
    session: Session, client_id: int, staff_message_id: int | None, *, relay: bool
) -> None:
    """Link a staff-chat message to the client, so staff replies to it reach them. A new
    hand-off (not a relayed message) is also counted."""
    session.add(Handoff(client_id=client_id, staff_message_id=staff_message_id))
    if not relay:
        record_event(session, client_id, "handoff")


def client_for_staff_message(session: Session, staff_message_id: int) -> Client | None:
    result = session.exec(
        select(Client)
        .join(Handoff, col(Handoff.client_id) == col(Client.id))
        .where(Handoff.staff_message_id == staff_message_id)
    )
    return result.first()


def latest_handoff(session: Session, client_id: int) -> Handoff | None:
    result = session.exec(
        select(Handoff).where(Handoff.client_id == client_id).order_by(col(Handoff.id).desc())
    )
    return result.first()


# --- the client's own data ---------------------------------------------------------------------


def export_client(session: Session, client: Client) -> dict[str, Any]:
    """Everything stored about a client, for /mydata."""
    screenings = (
        session.exec(
            select(Screening).where(Screening.client_id == client.id).order_by(col(Screening.id))
        )
    ).all()
    exported = []
    for screening in screenings:
        answers = screening_answers(session, screening.id)  # type: ignore[arg-type]
        exported.append(
            {
                **screening.model_dump(exclude={"id", "client_id"}, mode="json"),
                "answers": [
                    a.model_dump(include={"question_id", "option_id", "answered_at"}, mode="json")
                    for a in answers
                ],
            }
        )
    handoffs = (session.exec(select(Handoff).where(Handoff.client_id == client.id))).all()
    events = (
        session.exec(select(Event).where(Event.client_id == client.id).order_by(col(Event.id)))
    ).all()
    return {
        "client": client.model_dump(exclude={"id"}, mode="json"),
        "screenings": exported,
        "handoffs": [h.model_dump(include={"created_at"}, mode="json") for h in handoffs],
        "events": [e.model_dump(include={"kind", "at", "data"}, mode="json") for e in events],
    }
