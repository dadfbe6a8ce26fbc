"""The queries the bot needs, named for what they mean. Each takes an open session
(one transaction per update, see `Database.session`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Answer, Client, Event, Handoff, Screening, utcnow


@dataclass(frozen=True)
class TelegramUser:
    """The parts of a Telegram user the bot keeps."""

    id: int
    first_name: str
    username: str | None = None


# --- clients -----------------------------------------------------------------------------------


async def get_client(session: AsyncSession, telegram_id: int) -> Client | None:
    result = await session.exec(select(Client).where(Client.telegram_id == telegram_id))
    return result.first()


async def get_or_create_client(
    session: AsyncSession, user: TelegramUser, chat_id: int, source: str | None = None
) -> tuple[Client, bool]:
    """The client for this Telegram user, created on first contact. Refreshes the name, marks
    them active and reachable (they just wrote to us). Returns (client, created)."""
    client = await get_client(session, user.id)
    created = client is None
    if client is None:
        client = Client(telegram_id=user.id, chat_id=chat_id, source=source)
        session.add(client)
    client.first_name = user.first_name[:128]
    client.username = user.username
    client.chat_id = chat_id
    client.last_active_at = utcnow()
    if client.blocked:
        client.blocked = False
        client.blocked_at = None
    await session.flush()
    return client, created


async def set_blocked(session: AsyncSession, telegram_id: int, blocked: bool) -> bool:
    """Mark a client as having blocked the bot (or come back). False if we don't know them."""
    values: dict[str, Any] = {"blocked": blocked, "blocked_at": utcnow() if blocked else None}
    result = await session.exec(  # type: ignore[call-overload]
        update(Client).where(col(Client.telegram_id) == telegram_id).values(**values)
    )
    return bool(result.rowcount)


async def set_tips_consent(session: AsyncSession, client: Client, agree: bool) -> None:
    client.tips_consent = agree
    client.tips_consent_at = utcnow()
    await record_event(session, client.id, "consent_tips", {"agree": agree})


async def withdraw_health_consent(session: AsyncSession, client: Client) -> None:
    """Consent withdrawn: erase every health answer and result, keep the rest."""
    await session.exec(delete(Screening).where(col(Screening.client_id) == client.id))  # type: ignore[call-overload]
    client.health_consent = False
    client.health_consent_at = utcnow()
    if client.stage == "screening":
        client.stage = "idle"
    await record_event(session, client.id, "consent_health", {"agree": False})


async def give_health_consent(session: AsyncSession, client: Client) -> None:
    client.health_consent = True
    client.health_consent_at = utcnow()
    await record_event(session, client.id, "consent_health", {"agree": True})


async def delete_client(session: AsyncSession, client: Client) -> None:
    """Erase a client and everything about them; their events stay, unlinked, for counts."""
    await session.exec(  # type: ignore[call-overload]
        update(Event).where(col(Event.client_id) == client.id).values(client_id=None)
    )
    await session.delete(client)


async def erase_inactive(session: AsyncSession, before: datetime) -> int:
    """Erase every client inactive since before `before`. Returns how many."""
    stale = (await session.exec(select(Client).where(Client.last_active_at < before))).all()
    for client in stale:
        await delete_client(session, client)
    return len(stale)


# --- the conversation state --------------------------------------------------------------------


async def active_screening(session: AsyncSession, client_id: int) -> Screening | None:
    result = await session.exec(
        select(Screening)
        .where(Screening.client_id == client_id, Screening.status == "in_progress")
        .order_by(col(Screening.id).desc())
    )
    return result.first()


async def screening_answers(session: AsyncSession, screening_id: int) -> list[Answer]:
    result = await session.exec(
        select(Answer).where(Answer.screening_id == screening_id).order_by(col(Answer.position))
    )
    return list(result.all())


async def screening_by_key(session: AsyncSession, client_id: int, key: str) -> Screening | None:
    result = await session.exec(
        select(Screening).where(Screening.client_id == client_id, Screening.key == key)
    )
    return result.first()


async def sync_answers(
    session: AsyncSession, screening: Screening, answers: tuple[tuple[str, str], ...]
) -> None:
    """Make the stored answers equal `answers`: keep the common start, replace the rest."""
    stored = await screening_answers(session, screening.id)  # type: ignore[arg-type]
    same = 0
    while (
        same < min(len(stored), len(answers))
        and (stored[same].question_id, stored[same].option_id) == answers[same]
    ):
        same += 1
    for row in stored[same:]:
        await session.delete(row)
    if len(stored) > same:
        await session.flush()
    for position, (question_id, option_id) in enumerate(answers[same:], start=same):
        session.add(
            Answer(
                screening_id=screening.id,  # type: ignore[arg-type]
                position=position,
                question_id=question_id,
                option_id=option_id,
            )
        )


async def latest_finished_screening(session: AsyncSession, client_id: int) -> Screening | None:
    result = await session.exec(
        select(Screening)
        .where(
            Screening.client_id == client_id, col(Screening.status).in_(("completed", "red_flag"))
        )
        .order_by(col(Screening.finished_at).desc())
    )
    return result.first()


# --- events and hand-offs ----------------------------------------------------------------------


async def record_event(
    session: AsyncSession, client_id: int | None, kind: str, data: dict[str, Any] | None = None
) -> None:
    session.add(Event(client_id=client_id, kind=kind, data=data or None))


async def count_events(session: AsyncSession, kind: str) -> int:
    result = await session.exec(select(func.count()).select_from(Event).where(Event.kind == kind))
    return int(result.one())


async def create_handoff(
    session: AsyncSession, client: Client, staff_message_id: int | None, *, relay: bool
) -> None:
    """Link a staff-chat message to the client, so staff replies to it reach them. A new
    hand-off (not a relayed message) is also counted."""
    session.add(Handoff(client_id=client.id, staff_message_id=staff_message_id))  # type: ignore[arg-type]
    if not relay:
        await record_event(session, client.id, "handoff")


async def client_for_staff_message(session: AsyncSession, staff_message_id: int) -> Client | None:
    result = await session.exec(
        select(Client)
        .join(Handoff, col(Handoff.client_id) == col(Client.id))
        .where(Handoff.staff_message_id == staff_message_id)
    )
    return result.first()


async def latest_handoff(session: AsyncSession, client_id: int) -> Handoff | None:
    result = await session.exec(
        select(Handoff).where(Handoff.client_id == client_id).order_by(col(Handoff.id).desc())
    )
    return result.first()


# --- the client's own data ---------------------------------------------------------------------


async def export_client(session: AsyncSession, client: Client) -> dict[str, Any]:
    """Everything stored about a client, for /mydata."""
    screenings = (
        await session.exec(
            select(Screening).where(Screening.client_id == client.id).order_by(col(Screening.id))
        )
    ).all()
    exported = []
    for screening in screenings:
        answers = await screening_answers(session, screening.id)  # type: ignore[arg-type]
        exported.append(
            {
                **screening.model_dump(exclude={"id", "client_id"}, mode="json"),
                "answers": [
                    a.model_dump(include={"question_id", "option_id", "answered_at"}, mode="json")
                    for a in answers
                ],
            }
        )
    handoffs = (await session.exec(select(Handoff).where(Handoff.client_id == client.id))).all()
    events = (
        await session.exec(
            select(Event).where(Event.client_id == client.id).order_by(col(Event.id))
        )
    ).all()
    return {
        "client": client.model_dump(exclude={"id"}, mode="json"),
        "screenings": exported,
        "handoffs": [h.model_dump(include={"created_at"}, mode="json") for h in handoffs],
        "events": [e.model_dump(include={"kind", "at", "data"}, mode="json") for e in events],
    }
