"""One client event through the engine, inside one database transaction.

Handlers call `run_event`; it loads the client's state from the rows, asks the engine what
happens, and writes back what changed (stage, consents, screenings, every answer as it is
given, events). The engine stays pure; storage stays unaware of the engine.
"""

from __future__ import annotations

import secrets

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from dialogs.engine import Context, ScreeningState, Stage, State, Step, step
from dialogs.events import Event, Start
from storage import repo
from storage.models import Client, Screening, utcnow


async def run_event(
    services: Services, user: repo.TelegramUser, chat_id: int, event: Event, *, create: bool
) -> Step | None:
    """Apply `event` for this user. Returns the step, or None when the user is unknown and
    `create` is False (a button pressed after /delete: stale, nothing is created)."""
    async with services.db.session() as session:
        client = await repo.get_client(session, user.id)
        if client is None and not create:
            return None
        source = event.source if isinstance(event, Start) else None
        client, created = await repo.get_or_create_client(session, user, chat_id, source)
        if created:
            await repo.record_event(session, client.id, "client_new", {"source": source})
        before = await load_state(session, client)
        ctx = Context(
            questionnaire=services.questionnaire,
            booking_urls=services.settings.booking_urls,
            new_key=secrets.token_urlsafe(6),
            retention_days=services.settings.retention_days,
        )
        result = step(before, event, ctx)
        if not result.stale:
            await apply_step(session, client, before, result, services.questionnaire.version)
        return result


async def load_state(session: AsyncSession, client: Client) -> State:
    """The engine's view of this client, from the rows."""
    screening_state = None
    stage = Stage(client.stage)
    if stage is Stage.SCREENING:
        screening = await repo.active_screening(session, client.id)  # type: ignore[arg-type]
        if screening is not None:
            answers = await repo.screening_answers(session, screening.id)  # type: ignore[arg-type]
            pairs = tuple((a.question_id, a.option_id) for a in answers)
            screening_state = ScreeningState(screening.key, pairs)
        else:
            stage = Stage.IDLE  # the screening was erased (consent withdrawn): nothing to resume
    return State(
        stage=stage,
        first_name=client.first_name,
        health_consent=client.health_consent,
        tips_consent=client.tips_consent,
        screening=screening_state,
    )


async def apply_step(
    session: AsyncSession, client: Client, before: State, result: Step, version: int
) -> None:
    """Write what a step changed."""
    after = result.state
    now = utcnow()
    client_id: int = client.id  # type: ignore[assignment]
    client.stage = after.stage.value
    if after.health_consent != before.health_consent:
        client.health_consent, client.health_consent_at = after.health_consent, now
    if after.tips_consent != before.tips_consent:
        client.tips_consent, client.tips_consent_at = after.tips_consent, now

    if result.outcome is not None:
        ended = await repo.screening_by_key(session, client_id, result.outcome.key)
        if ended is not None:
            ended.status = result.outcome.status
            ended.finished_at = now
            ended.red_flag_tier = result.outcome.tier
            ended.result = result.outcome.result.as_json() if result.outcome.result else None
            # A cancelled screening's answers serve no purpose any more: erase them.
            kept = result.outcome.answers if result.outcome.status != "cancelled" else ()
            await repo.sync_answers(session, ended, kept)
    if result.started is not None:
        session.add(
            Screening(client_id=client_id, key=result.started, questionnaire_version=version)
        )
        await session.flush()
    if after.screening is not None:
        current = await repo.screening_by_key(session, client_id, after.screening.key)
        if current is not None:
            await repo.sync_answers(session, current, after.screening.answers)
    for kind, data in result.events:
        await repo.record_event(session, client_id, kind, data)
