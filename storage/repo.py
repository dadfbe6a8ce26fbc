"""The queries the bot needs, named for what they mean. Each takes an open session: one
transaction per update, run in the database thread (see `Database.run`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, bindparam, delete, func, insert, or_, update
from sqlmodel import Session, col, select

from dialogs.safety import HOLDING_TIERS
from dialogs.statuses import HandoffStatus, PlanStatus, PostKind, ScreeningStatus
from dialogs.team import closable
from storage import progress
from storage.models import (
    Answer,
    BreakDay,
    Client,
    Delivery,
    Event,
    Handoff,
    ReminderPlan,
    Screening,
    table_of,
    utcnow,
)


@dataclass(frozen=True)
class TelegramUser:
    """The parts of a Telegram user the bot keeps."""

    id: int
    first_name: str
    username: str | None = None


# --- clients -----------------------------------------------------------------------------------


# last_active_at only matters to the retention sweep, counted in days: writing it on every
# button press would turn each answer into one more UPDATE for nothing.
ACTIVITY_PRECISION = timedelta(hours=1)
# Events drawn from health answers: unlinked from the client when consent is withdrawn.
HEALTH_EVENTS = (
    "screening_started",
    "screening_finished",
    "screening_cancelled",
    "red_flag_exit",
    "booking_shown",
    "safety_lifted",
    "emergency_text",
)
# Clients whose safety status lets the bot send them tips and prompts (not held by a tier A or
# B red flag). A gate in the queries, not an `if` after them, so no path can forget it.
NOT_HELD = or_(col(Client.safety_tier).is_(None), col(Client.safety_tier).not_in(HOLDING_TIERS))


def get_client(session: Session, telegram_id: int) -> Client | None:
    result = session.exec(select(Client).where(Client.telegram_id == telegram_id))
    return result.first()


def active_client(session: Session, telegram_id: int) -> Client | None:
    """The client, for something they just did: that counts as activity."""
    client = get_client(session, telegram_id)
    if client is not None:
        mark_active(client)
    return client


def mark_active(client: Client) -> None:
    now = utcnow()
    if now - client.last_active_at > ACTIVITY_PRECISION:
        client.last_active_at = now


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
    result = session.exec(
        update(Client).where(col(Client.telegram_id) == telegram_id).values(**values)
    )
    return bool(result.rowcount)


def set_tips_consent(session: Session, client: Client, agree: bool) -> None:
    client.tips_consent = agree
    client.tips_consent_at = utcnow()
    record_event(session, client.id, "consent_tips", {"agree": agree})


def withdraw_health_consent(session: Session, client: Client) -> None:
    """Consent withdrawn: erase every health answer and result, and unlink what was drawn
    from them; keep the rest."""
    assert client.id is not None
    session.execute(delete(Screening).where(col(Screening.client_id) == client.id))
    progress.erase(session, client.id)
    session.execute(
        update(Event)
        .where(col(Event.client_id) == client.id, col(Event.kind).in_(HEALTH_EVENTS))
        .values(client_id=None)
    )
    client.health_consent = False
    client.health_consent_at = utcnow()
    # The symptom and the dates go; a hold stays, without them, until the client says a
    # doctor has checked them: withdrawing must not restart tips and exercise prompts.
    held = client.safety_tier if client.safety_tier in HOLDING_TIERS else None
    client.safety_tier, client.safety_symptom = held, None
    client.safety_at = client.safety_cleared_at = None
    client.checked = client.contra = None
    record_event(session, client.id, "consent_health", {"agree": False})


def set_safety(client: Client, tier: str | None, symptom: str | None) -> None:
    """Record a new safety status; lifting a hold (tier A or B to none) records its date."""
    now = utcnow()
    if tier is None and client.safety_tier in HOLDING_TIERS and client.health_consent:
        client.safety_cleared_at = now
    client.safety_tier, client.safety_symptom = tier, symptom
    client.safety_at = now if tier else None


def give_health_consent(session: Session, client: Client) -> None:
    client.health_consent = True
    client.health_consent_at = utcnow()
    record_event(session, client.id, "consent_health", {"agree": True})


def delete_client(session: Session, client: Client) -> None:
    """Erase a client and everything about them; their events and tip deliveries stay,
    unlinked, for counts and broadcast history."""
    session.execute(update(Event).where(col(Event.client_id) == client.id).values(client_id=None))
    session.execute(
        update(Delivery)
        .where(col(Delivery.client_id) == client.id)
        .values(client_id=None, chat_id=None)
    )
    session.delete(client)


def forget_crisis_words(session: Session, before: datetime) -> None:
    """When crisis words were written is kept for the day that nothing is sold after them
    (dialogs.safety.CRISIS_QUIET), then erased."""
    session.execute(update(Client).where(col(Client.crisis_at) < before).values(crisis_at=None))


def erase_inactive(session: Session, before: datetime) -> tuple[int, list[tuple[int, int]]]:
    """Erase every client inactive since before `before`. Returns how many, and the bot's
    posts about them in the staff chat (for the caller to remove)."""
    stale = (session.exec(select(Client).where(Client.last_active_at < before))).all()
    posts = []
    for client in stale:
        assert client.id is not None
        posts += staff_posts(session, client.id)
        delete_client(session, client)
    return len(stale), posts


# --- the conversation state --------------------------------------------------------------------


# Built once: constructing a statement costs more than running it on SQLite.
# Plain tables (Core) where no object is wanted: the ORM's machinery for a statement on a
# mapped class (its compile and bulk-insert paths) costs more than the statement itself.
_ANSWERS = table_of(Answer)
_EVENTS = table_of(Event)
# The answers so far, as one string in the same row ("position:question:option,..."):
# a second SELECT per button press was about a tenth of its CPU on PostgreSQL. Question and
# option ids are plain identifiers (dialogs.questionnaire checks), so the separators are safe.
_ANSWERS_SO_FAR = (
    select(
        func.aggregate_strings(
            func.cast(_ANSWERS.c.position, String)
            + ":"
            + _ANSWERS.c.question_id
            + ":"
            + _ANSWERS.c.option_id,
            ",",
        )
    )
    .where(_ANSWERS.c.screening_id == col(Screening.id))
    .scalar_subquery()
)
_CONVERSATION = (
    select(Client, Screening, _ANSWERS_SO_FAR)
    .outerjoin(
        Screening,
        and_(
            col(Screening.client_id) == col(Client.id),
            col(Screening.status) == ScreeningStatus.IN_PROGRESS,
        ),
    )
    .where(col(Client.telegram_id) == bindparam("telegram_id"))
)
# One update of a chat at a time, across replicas too: a second update of the same chat
# (another replica, a double tap) waits for this transaction instead of reading the same
# state and answering it twice. The lock is taken by a statement of its own, before the read:
# in one statement PostgreSQL would read the screening and answers as they were before the
# wait (only a locked row that changed is read again). SQLite has one writer: no lock needed.
_LOCK_CLIENT = (
    select(col(Client.id))
    .where(col(Client.telegram_id) == bindparam("telegram_id"))
    .with_for_update()
)
_ANSWER_PAIRS = (
    select(_ANSWERS.c.question_id, _ANSWERS.c.option_id)
    .where(_ANSWERS.c.screening_id == bindparam("screening_id"))
    .order_by(_ANSWERS.c.position)
)
# `inline`: nobody reads the new rows' ids, so PostgreSQL is not asked to send them back
# (SQLAlchemy otherwise adds RETURNING id to a one-row INSERT: one more result per press).
_INSERT_ANSWER = insert(_ANSWERS).inline()
_INSERT_EVENT = insert(_EVENTS).inline()
Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Conversation:
    """A client's rows for one update: the client (locked until the transaction ends), their
    screening in progress, if any, and its answers in order as (question id, option id)."""

    client: Client
    screening: Screening | None
    answers: Pairs


def conversation(session: Session, telegram_id: int) -> Conversation | None:
    """A client's conversation, in one query (after the lock, on PostgreSQL). None if
    unknown."""
    params = {"telegram_id": telegram_id}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_CLIENT, params)
    row = session.exec(_CONVERSATION, params=params).first()
    if row is None:
        return None
    client, screening, joined = row
    ordered = sorted(
        (entry.split(":") for entry in joined.split(",")) if joined else (), key=_position
    )
    return Conversation(client, screening, tuple((q, o) for _, q, o in ordered))


def _position(entry: list[str]) -> int:
    return int(entry[0])


def answer_pairs(session: Session, screening_id: int) -> Pairs:
    """A screening's answers in order, as (question id, option id): plain tuples, no objects."""
    rows = session.execute(_ANSWER_PAIRS, {"screening_id": screening_id})
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
        session.execute(_INSERT_ANSWER, new)


def retire_screening(session: Session, screening: Screening) -> None:
    """End a screening that will not be finished (cancelled, started over, outdated) and
    erase its answers: they serve no purpose any more."""
    screening.status = ScreeningStatus.CANCELLED
    screening.finished_at = utcnow()
    session.execute(delete(Answer).where(col(Answer.screening_id) == screening.id))


def finish_screening(
    session: Session,
    screening: Screening,
    *,
    status: str,
    tier: str | None,
    result: dict[str, Any] | None,
    stored: Pairs,
    answers: Pairs,
) -> None:
    """Record how a screening ended (a result or a red flag) with its final answers."""
    screening.status, screening.red_flag_tier, screening.result = status, tier, result
    screening.finished_at = utcnow()
    assert screening.id is not None
    sync_answers(session, screening.id, stored, answers)


def booked_results(session: Session, client_id: int) -> list[Screening]:
    """The client's results whose message still shows booking buttons."""
    return list(
        session.exec(
            select(Screening).where(
                Screening.client_id == client_id, col(Screening.result_message_id).is_not(None)
            )
        ).all()
    )


def note_result_message(session: Session, key: str, message_id: int) -> None:
    """Which message shows this screening's result with booking buttons."""
    session.execute(
        update(Screening).where(col(Screening.key) == key).values(result_message_id=message_id)
    )


def latest_finished_screening(session: Session, client_id: int) -> Screening | None:
    result = session.exec(
        select(Screening)
        .where(
            Screening.client_id == client_id,
            col(Screening.status).in_((ScreeningStatus.COMPLETED, ScreeningStatus.RED_FLAG)),
        )
        .order_by(col(Screening.finished_at).desc())
    )
    return result.first()


# --- events and hand-offs ----------------------------------------------------------------------


def record_event(
    session: Session, client_id: int | None, kind: str, data: dict[str, Any] | None = None
) -> None:
    record_events(session, client_id, ((kind, data),))


def record_events(
    session: Session,
    client_id: int | None,
    events: Iterable[tuple[str, dict[str, Any] | None]],
) -> None:
    """Several events of one client in one statement (a step's events: one INSERT)."""
    at = utcnow()
    rows = [
        {"client_id": client_id, "kind": kind, "at": at, "data": data or None}
        for kind, data in events
    ]
    if rows:
        session.execute(_INSERT_EVENT, rows)


def ask_handoff(
    session: Session, client: Client, now: datetime | None = None, words: str | None = None
) -> tuple[Handoff, Screening | None]:
    """A hand-off request awaiting the client's "yes", naming the screening it would share
    (their latest finished one, if any) and carrying the words they wrote with /human. An
    earlier unanswered request is dropped. `now`: the bot's clock, which every time the
    conversation window is judged by comes from."""
    session.execute(
        delete(Handoff).where(
            col(Handoff.client_id) == client.id, col(Handoff.status) == HandoffStatus.ASKED
        )
    )
    assert client.id is not None
    screening = latest_finished_screening(session, client.id)
    handoff = Handoff(
        client_id=client.id,
        screening_id=screening.id if screening else None,
        created_at=now or utcnow(),
        words=words,
    )
    session.add(handoff)
    session.flush()
    return handoff, screening


def forget_words(session: Session, handoff_id: int) -> None:
    """The words that came with a request have gone to the team (or were declined)."""
    session.execute(update(Handoff).where(col(Handoff.id) == handoff_id).values(words=None))


def handoff_count(session: Session, client_id: int) -> int:
    """How many times the client has asked to talk to a therapist (requests sent)."""
    statement = select(func.count()).where(
        col(Handoff.client_id) == client_id,
        col(Handoff.kind) == PostKind.REQUEST,
        col(Handoff.status) == HandoffStatus.SENT,
    )
    return int(session.exec(statement).one())


def pending_handoff(session: Session, client_id: int, handoff_id: int) -> Handoff | None:
    """The client's own request, if it still awaits an answer (a second tap finds none)."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None or handoff.client_id != client_id or handoff.status != HandoffStatus.ASKED:
        return None
    return handoff


def set_handoff_status(
    session: Session,
    handoff_id: int,
    status: str,
    post: tuple[int, int] | None = None,
    at: datetime | None = None,
) -> None:
    """Record what became of a request; `post` is (staff chat, message id) once sent, `at`
    when it reached the clinic (the bot's clock: the inbox counts the wait from it)."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        return
    handoff.status = status
    if post is not None:
        handoff.staff_chat_id, handoff.staff_message_id = post
        handoff.sent_at = at or utcnow()
        record_event(session, handoff.client_id, "handoff")


def record_relay(
    session: Session,
    client_id: int,
    post: tuple[int, int],
    kind: str = PostKind.RELAY,
    at: datetime | None = None,
) -> bool:
    """A post in the staff chat about this client, so staff may reply to it too: a client's
    message passed on (`relay`) or the confirmation of a staff reply delivered (`staff`).
    `at`: the bot's clock (a staff reply keeps the conversation open from then). False, and
    nothing written, if the client erased their data while the post was on its way."""
    if session.get(Client, client_id) is None:
        return False
    staff_chat_id, staff_message_id = post
    session.add(
        Handoff(
            client_id=client_id,
            kind=kind,
            status=HandoffStatus.SENT,
            staff_chat_id=staff_chat_id,
            staff_message_id=staff_message_id,
            created_at=at or utcnow(),
        )
    )
    return True


def close_conversation(
    session: Session, request_id: int, now: datetime | None = None
) -> Client | None:
    """Staff close a client's conversation (from its request's post): every open request and
    staff reply of that client is marked closed. The client, or None if already closed."""
    request = session.get(Handoff, request_id)
    if request is None or not closable(request.kind, request.status):
        return None
    closed = session.exec(
        update(Handoff)
        .where(
            col(Handoff.client_id) == request.client_id,
            col(Handoff.kind).in_((PostKind.REQUEST, PostKind.STAFF)),
            col(Handoff.status) == HandoffStatus.SENT,
        )
        .values(status=HandoffStatus.CLOSED, closed_at=now or utcnow())
    )
    if closed.rowcount == 0:
        return None  # another staff member (or replica) closed it a moment ago
    return session.get(Client, request.client_id)


def keeps_open(row: type[Handoff], since: datetime) -> tuple[ColumnElement[bool], ...]:
    """The rows that keep a conversation open: a request sent, or a staff reply, not closed
    and more recent than `since` (now less RELAY_WINDOW). The one definition of "open" for
    the client's messages, staff replies, /inbox and its alerts; `row` is `Handoff` or an
    alias of it (the inbox asks per request whether its client's conversation is open)."""
    return (
        col(row.status) == HandoffStatus.SENT,
        col(row.kind).in_((PostKind.REQUEST, PostKind.STAFF)),
        col(row.created_at) >= since,
    )


def open_handoff(session: Session, client_id: int, since: datetime) -> Handoff | None:
    """The conversation with the team, open while the request or a staff reply is more recent
    than `since`: the latest such post. The client's own messages do not keep it open."""
    result = session.exec(
        select(Handoff)
        .where(Handoff.client_id == client_id, *keeps_open(Handoff, since))
        .order_by(col(Handoff.id).desc())
    )
    return result.first()


def last_to_team(session: Session, client_id: int) -> datetime | None:
    """When the client's latest message or request reached the staff chat (the bot's clock),
    if any: whether they were told the clinic is closed tonight already."""
    reached = func.coalesce(Handoff.sent_at, Handoff.created_at)
    return session.exec(
        select(reached)
        .where(
            Handoff.client_id == client_id,
            or_(
                col(Handoff.kind) == PostKind.RELAY,
                and_(col(Handoff.kind) == PostKind.REQUEST, col(Handoff.sent_at).is_not(None)),
            ),
        )
        .order_by(reached.desc())
        .limit(1)
    ).first()


def closed_by_staff(session: Session, client_id: int) -> bool:
    """Whether a client's conversation, no longer open, was closed by the team (rather than
    left a week without a staff reply): what a staff member writing to them is told."""
    latest = session.exec(
        select(Handoff.status)
        .where(
            Handoff.client_id == client_id,
            col(Handoff.kind).in_((PostKind.REQUEST, PostKind.STAFF)),
            col(Handoff.status).in_((HandoffStatus.SENT, HandoffStatus.CLOSED)),
        )
        .order_by(col(Handoff.id).desc())
    ).first()
    return latest == HandoffStatus.CLOSED


def post_about(
    session: Session, staff_chat_id: int, staff_message_id: int
) -> tuple[str | None, Client | None]:
    """Which of the bot's posts in the staff chat this is (its kind: request, relay, note,
    staff, detail), and whom it is about; (None, None) if the bot keeps no such post (message
    ids are unique only within a chat)."""
    row = session.exec(
        select(Handoff.kind, Client)
        .join(Client, col(Handoff.client_id) == col(Client.id))
        .where(Handoff.staff_chat_id == staff_chat_id, Handoff.staff_message_id == staff_message_id)
    ).first()
    return (None, None) if row is None else (row[0], row[1])


# Every post about a client the bot tracks (removed with their data): in the staff group
# (request, relay, staff receipt, detail, note), and in a staff member's private chat (an
# /inbox page listing them, an /export file with their row).
STAFF_POSTS = (
    PostKind.REQUEST,
    PostKind.RELAY,
    PostKind.STAFF,
    PostKind.DETAIL,
    PostKind.NOTE,
    PostKind.LISTING,
    PostKind.EXPORT,
)


def record_posts(
    session: Session, client_ids: list[int], post: tuple[int, int], kind: str, at: datetime
) -> None:
    """One post about several clients (an /inbox page, an /export file), tracked for each."""
    if not client_ids:
        return
    chat, message = post
    rows = [
        {"client_id": cid, "kind": kind, "status": HandoffStatus.SENT, "staff_chat_id": chat,
         "staff_message_id": message, "created_at": at}
        for cid in client_ids
    ]  # fmt: skip
    session.execute(insert(table_of(Handoff)), rows)


def staff_posts(
    session: Session, client_id: int, kinds: tuple[str, ...] = STAFF_POSTS
) -> list[tuple[int, int]]:
    """The bot's posts about this client in the staff chat, as (chat id, message id)."""
    result = session.exec(
        select(Handoff.staff_chat_id, Handoff.staff_message_id)
        .where(
            Handoff.client_id == client_id,
            col(Handoff.kind).in_(kinds),
            col(Handoff.status) != HandoffStatus.DELETED,
            col(Handoff.staff_message_id).is_not(None),
            col(Handoff.staff_chat_id).is_not(None),
        )
        .distinct()  # an /inbox page shown again lists them again
    )
    # (no NULLs: the query leaves them out)
    return [(c, m) for c, m in result.all() if c is not None and m is not None]


def expired_details(session: Session, before: datetime) -> list[tuple[int, int, int]]:
    """Health details shown to staff before `before`, still in the group: (row, chat, id).
    They are marked deleted here; the caller removes the posts."""
    rows = session.exec(
        select(Handoff).where(
            Handoff.kind == PostKind.DETAIL,
            Handoff.status == HandoffStatus.SENT,
            col(Handoff.created_at) < before,
        )
    ).all()
    expired = []
    for row in rows:
        row.status = HandoffStatus.DELETED
        chat, message = row.staff_chat_id, row.staff_message_id
        # (a post unlinked, as in the sandbox's fresh chats, has nothing to remove)
        if row.id is not None and chat is not None and message is not None:
            expired.append((row.id, chat, message))
    return expired


def forget_staff_posts(session: Session) -> None:
    """Unlink every staff-chat post (the sandbox's emulated chats start empty each run)."""
    session.execute(update(Handoff).values(staff_chat_id=None, staff_message_id=None))


# --- movement-break reminders ------------------------------------------------------------------


def reminder_plan(session: Session, client_id: int) -> ReminderPlan | None:
    return session.exec(select(ReminderPlan).where(ReminderPlan.client_id == client_id)).first()


def recent_breaks(session: Session, client_id: int, since: date) -> dict[date, int]:
    """Breaks done per local day since `since` (for streaks and the week's summary)."""
    rows = session.exec(
        select(col(BreakDay.day), col(BreakDay.done)).where(
            BreakDay.client_id == client_id, col(BreakDay.day) >= since
        )
    ).all()
    return {day: done for day, done in rows}


def count_break(session: Session, client_id: int, day: date) -> None:
    row = session.exec(
        select(BreakDay).where(BreakDay.client_id == client_id, BreakDay.day == day)
    ).first()
    if row is None:
        session.add(BreakDay(client_id=client_id, day=day, done=1))
    else:
        row.done += 1


_DUE_PROMPTS = (
    select(ReminderPlan, Client)
    .join(Client, col(Client.id) == col(ReminderPlan.client_id))
    .where(
        col(ReminderPlan.status) == PlanStatus.ACTIVE,
        col(ReminderPlan.next_due_at) <= bindparam("now"),
        col(Client.blocked).is_(False),
        NOT_HELD,
    )
    .order_by(col(ReminderPlan.next_due_at))
    .limit(bindparam("limit"))
)
_DUE_SUMMARIES = (
    select(ReminderPlan, Client)
    .join(Client, col(Client.id) == col(ReminderPlan.client_id))
    .where(
        col(ReminderPlan.status).in_((PlanStatus.ACTIVE, PlanStatus.PAUSED, PlanStatus.ASKING)),
        col(ReminderPlan.summary_due_at) <= bindparam("now"),
        col(Client.blocked).is_(False),
        NOT_HELD,
    )
    .order_by(col(ReminderPlan.summary_due_at))
    .limit(bindparam("limit"))
)


def due_prompts(session: Session, now: datetime, limit: int) -> list[tuple[ReminderPlan, Client]]:
    """Active plans of reachable clients whose next prompt is due, the most overdue first."""
    rows = session.exec(_DUE_PROMPTS, params={"now": now, "limit": limit}).all()
    return [(plan, client) for plan, client in rows]


def due_summaries(session: Session, now: datetime, limit: int) -> list[tuple[ReminderPlan, Client]]:
    rows = session.exec(_DUE_SUMMARIES, params={"now": now, "limit": limit}).all()
    return [(plan, client) for plan, client in rows]


# --- the client's own data ---------------------------------------------------------------------


def export_client(session: Session, client: Client) -> dict[str, Any]:
    """Everything stored about a client, for /mydata."""
    assert client.id is not None
    screenings = (
        session.exec(
            select(Screening).where(Screening.client_id == client.id).order_by(col(Screening.id))
        )
    ).all()
    exported = []
    for screening in screenings:
        assert screening.id is not None
        answers = screening_answers(session, screening.id)
        exported.append(
            {
                **screening.model_dump(exclude={"id", "client_id"}, mode="json"),
                "answers": [
                    a.model_dump(include={"question_id", "option_id", "answered_at"}, mode="json")
                    for a in answers
                ],
            }
        )
    handoffs = session.exec(
        select(Handoff).where(Handoff.client_id == client.id, Handoff.status == HandoffStatus.SENT)
    ).all()
    events = (
        session.exec(select(Event).where(Event.client_id == client.id).order_by(col(Event.id)))
    ).all()
    plan = reminder_plan(session, client.id)
    breaks = session.exec(
        select(BreakDay).where(BreakDay.client_id == client.id).order_by(col(BreakDay.day))
    ).all()
    tips = session.exec(
        select(Delivery).where(Delivery.client_id == client.id).order_by(col(Delivery.id))
    ).all()
    return {
        "client": client.model_dump(exclude={"id"}, mode="json"),
        "tips_received": [
            d.model_dump(include={"broadcast_id", "status", "updated_at"}, mode="json")
            for d in tips
        ],
        "reminders": plan.model_dump(exclude={"id", "client_id"}, mode="json") if plan else None,
        "breaks_done": [b.model_dump(include={"day", "done"}, mode="json") for b in breaks],
        "pain_checkins": progress.export(session, client.id),
        "screenings": exported,
        "handoffs": [h.model_dump(include={"kind", "created_at"}, mode="json") for h in handoffs],
        "events": [e.model_dump(include={"kind", "at", "data"}, mode="json") for e in events],
    }
