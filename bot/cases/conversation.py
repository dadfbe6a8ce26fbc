"""One client event through the engine, inside one database transaction.

Handlers call `run_event`; in the database thread it loads the client's state from the rows,
asks the engine what happens, and writes back what changed (stage, consents, screenings,
every answer as it is given, events). The engine stays pure; storage stays unaware of it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from bot.services import Services
from dialogs.engine import Context, ScreeningState, State, Step, result_text, step
from dialogs.events import Event, Start
from dialogs.safety import Checked, Safety, held_since
from dialogs.scoring import Result
from dialogs.statuses import ScreeningStatus, Stage
from storage import repo
from storage.models import Client, Screening, stored_id, utcnow


@dataclass(frozen=True)
class Ran:
    """A step, and the message that carried the client's live question before it (if any).
    `unbooked`: earlier results that showed booking buttons, to be edited without them (with
    these texts) now that a red-flag hold has started."""

    step: Step
    question_message_id: int | None = None
    unbooked: tuple[tuple[int, str], ...] = ()
    placed: Placement | None = None  # already written with the step (see `placement`)


@dataclass(frozen=True)
class Placement:
    """Which messages carry the live question and the result's booking buttons (ids)."""

    question: int | None
    booking: int | None


def question_after(step: Step, live: int | None, old: int | None) -> int | None:
    """The message that carries the live question once the step's replies are out: the new
    live one; else, mid-self-check, the one that did; else none."""
    if any(r.live for r in step.replies):
        return live
    return old if step.state.stage is Stage.SCREENING else None


def placement(step: Step, pressed: int | None, old: int | None) -> Placement | None:
    """Where the replies will put the question and the booking buttons, if every reply
    marked `replace` edits the pressed message as asked; None when one that matters goes to
    a new message (its id is known only once sent). Written with the step, this spares the
    update a second transaction; `deliver_step` corrects it when an edit fails."""
    live = booking = None
    for reply in step.replies:
        if not (reply.live or reply.booking):
            continue
        if not reply.replace or pressed is None:
            return None
        live = pressed if reply.live else live
        booking = pressed if reply.booking else booking
    return Placement(question_after(step, live, old), booking)


@dataclass
class Loaded:
    """A client's rows as read at the start of an update, reused when writing back."""

    client: Client
    state: State
    screening: Screening | None = None
    answers: repo.Pairs = ()


async def run_event(
    services: Services,
    user: repo.TelegramUser,
    chat_id: int,
    event: Event,
    *,
    create: bool,
    pressed: int | None = None,
) -> Ran | None:
    """Apply `event` for this user (`pressed`: the message whose button was pressed). Returns
    the step, or None when the user is unknown and `create` is False (a button pressed after
    /delete: stale, nothing is created)."""
    ctx = Context(
        questionnaire=services.questionnaire,
        booking_urls=services.clinic.booking_urls,
        new_key=secrets.token_urlsafe(6),
        retention_days=services.settings.retention_days,
        website=services.clinic.website,
        now=services.clock(),
        zone=services.clinic.zone,
        clinic=services.clinic,
        faq=services.content.faq,
    )
    version = services.questionnaire.version

    def transaction(session: Session) -> Ran | None:
        found = repo.conversation(session, user.id)
        if found is not None:
            client, screening, pairs = found.client, found.screening, found.answers
            _refresh(client, user, chat_id)
            if screening is not None and screening.questionnaire_version != version:
                # The clinic has changed the questions since: old answers may not mean the
                # same, so that screening ends and the client starts afresh when they wish.
                repo.retire_screening(session, screening)
                client.stage, screening, pairs = Stage.IDLE.value, None, ()
            loaded = load(client, screening, pairs, services)
        elif create:
            source = event.source if isinstance(event, Start) else None
            new = repo.create_client(session, user, chat_id, source)
            loaded = load(new, None, (), services)
        else:
            return None
        result = step(loaded.state, event, ctx)
        old = loaded.client.question_message_id
        if result.stale:
            return Ran(result, old)
        placed = placement(result, pressed, old)
        if placed is not None:  # first: its changes join the step's UPDATEs
            _place(loaded, result, placed)
        apply_step(session, loaded, result, version)
        unbooked: tuple[tuple[int, str], ...] = ()
        if result.state.safety.holds and not loaded.state.safety.holds:
            unbooked = _unbook(session, loaded.client, services)
        return Ran(result, old, unbooked, placed)

    return await services.db.run(transaction)


def _place(loaded: Loaded, result: Step, placed: Placement) -> None:
    """Note where the replies are about to put the question and the booking buttons."""
    if loaded.client.question_message_id != placed.question:
        loaded.client.question_message_id = placed.question
    if placed.booking is not None and result.outcome is not None and loaded.screening:
        loaded.screening.result_message_id = placed.booking


def _unbook(session: Session, client: Client, services: Services) -> tuple[tuple[int, str], ...]:
    """A hold has started: the results that showed booking buttons, as they now read (no
    suggestions, no "booking is fine"), and forgotten as such."""
    edits = []
    for screening in repo.booked_results(session, stored_id(client)):
        result = Result.from_json(screening.result or {})
        text = result_text(client.first_name, result, services.questionnaire, held=True)
        if screening.result_message_id is not None:  # booked_results: only those with one
            edits.append((screening.result_message_id, text))
        screening.result_message_id = None
    return tuple(edits)


async def note_result_message(services: Services, key: str, message_id: int) -> None:
    """Remember which message shows a result with booking buttons (`Reply.booking`)."""
    await services.db.run(lambda s: repo.note_result_message(s, key, message_id))


async def move_question(services: Services, telegram_id: int, message_id: int | None) -> None:
    """Note which message now carries the client's live question (None: no question)."""

    def transaction(session: Session) -> None:
        client = repo.get_client(session, telegram_id)
        if client is not None and client.question_message_id != message_id:
            client.question_message_id = message_id

    await services.db.run(transaction)


def _refresh(client: Client, user: repo.TelegramUser, chat_id: int) -> None:
    """The client just wrote to us: keep name and chat current, note they are active and
    reachable. Unchanged values are not written."""
    repo.mark_active(client)
    if client.first_name != user.first_name[:128]:
        client.first_name = user.first_name[:128]
    if client.username != user.username:
        client.username = user.username
    if client.chat_id != chat_id:
        client.chat_id = chat_id
    if client.blocked:
        client.blocked, client.blocked_at = False, None


def load(
    client: Client, screening: Screening | None, answers: repo.Pairs, services: Services
) -> Loaded:
    """The engine's view of this client, from the rows."""
    stage = Stage(client.stage)
    screening_state = None
    if stage is Stage.SCREENING and screening is not None:
        screening_state = ScreeningState(screening.key, answers)
    elif stage is Stage.SCREENING:
        stage = Stage.IDLE  # the screening was erased (consent withdrawn): nothing to resume
    state = State(
        stage=stage,
        first_name=client.first_name,
        health_consent=client.health_consent,
        tips_consent=client.tips_consent,
        screening=screening_state,
        safety=safety_of(client, services),
        crisis_at=client.crisis_at,
        checked=checked_of(client, services),
    )
    return Loaded(client, state, screening if screening_state else None, answers)


def safety_of(client: Client, services: Services) -> Safety:
    """The client's safety status, with its symptom in plain words and its date in clinic
    time (the day a client is reminded of, the day staff read)."""
    questionnaire, symptom = services.questionnaire, client.safety_symptom
    label = (
        (questionnaire.symptoms.get(symptom) or questionnaire.tier_c.get(symptom))
        if symptom
        else None
    )
    since = client.safety_at.astimezone(services.clinic.zone) if client.safety_at else None
    return held_since(client.safety_tier, symptom, label or "", since, services.clock())


def checked_of(client: Client, services: Services) -> tuple[Checked, ...]:
    """The symptoms a doctor has checked, as stored (`Client.checked`), with their labels."""
    symptoms = services.questionnaire.symptoms
    return tuple(
        Checked(symptom, date.fromisoformat(c["on"]), c["by"], c["when"], symptoms[symptom])
        for symptom, c in (client.checked or {}).items()
        if symptom in symptoms
    )


def apply_step(session: Session, loaded: Loaded, result: Step, version: int) -> None:
    """Write what a step changed."""
    client, before, after = loaded.client, loaded.state, result.state
    now = utcnow()
    client_id = stored_id(client)
    if client.stage != after.stage.value:
        client.stage = after.stage.value
    if after.health_consent != before.health_consent:
        client.health_consent, client.health_consent_at = after.health_consent, now
    if after.tips_consent != before.tips_consent:
        client.tips_consent, client.tips_consent_at = after.tips_consent, now
    if (after.safety.tier, after.safety.symptom) != (before.safety.tier, before.safety.symptom):
        repo.set_safety(client, after.safety.tier, after.safety.symptom)
    if after.crisis_at != before.crisis_at:
        client.crisis_at = after.crisis_at
    if after.checked != before.checked:
        client.checked = {c.symptom: c.as_json() for c in after.checked} or None

    outcome = result.outcome
    if outcome is not None and loaded.screening is not None:
        assert loaded.screening.key == outcome.key, "only the active screening can end"
        if outcome.status == ScreeningStatus.CANCELLED:
            repo.retire_screening(session, loaded.screening)
        else:
            if outcome.result is not None:
                client.contra = ",".join(outcome.result.contra) or None
            repo.finish_screening(
                session,
                loaded.screening,
                status=outcome.status,
                tier=outcome.tier,
                result=outcome.result.as_json() if outcome.result else None,
                stored=loaded.answers,
                answers=outcome.answers,
            )
    if result.started is not None:
        session.add(
            Screening(client_id=client_id, key=result.started, questionnaire_version=version)
        )
    elif after.screening is not None and loaded.screening is not None:
        screening_id = stored_id(loaded.screening)
        repo.sync_answers(session, screening_id, loaded.answers, after.screening.answers)
    repo.record_events(session, client_id, result.events)
