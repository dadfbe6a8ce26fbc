"""The tables. Times are aware UTC datetimes (SQLModel's UTCDateTime), on SQLite and PostgreSQL.

Deleting a client removes everything about them (cascades); events are kept for counts only,
unlinked from the client (`client_id` set to NULL) and carrying no health data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    Table,
    UniqueConstraint,
    inspect,
    text,
)
from sqlmodel import Field, SQLModel

from dialogs.statuses import (
    BroadcastStatus,
    DeliveryStatus,
    HandoffStatus,
    PlanStatus,
    PostKind,
    ScreeningStatus,
    Stage,
)


def utcnow() -> datetime:
    """Aware UTC now: what every timestamp column stores."""
    return datetime.now(UTC)


class _Stored(Protocol):
    id: int | None


def stored_id(row: _Stored) -> int:
    """A row's id, for a row read from the database (or flushed): it always has one; only a
    row not yet written has none, and asking for it then is a bug."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id before it is written")
    return row.id


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table (its `__table__`, which SQLModel's classes do not declare
    to a type checker): for statements that need no ORM objects."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


class Client(SQLModel, table=True):
    """A person who has talked to the bot in a private chat."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_type=BigInteger, unique=True, index=True)
    chat_id: int = Field(sa_type=BigInteger)
    first_name: str = Field(default="", max_length=128)
    username: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=64)
    stage: str = Field(default=Stage.NEW, max_length=32)
    health_consent: bool | None = None
    health_consent_at: datetime | None = None
    tips_consent: bool | None = None
    tips_consent_at: datetime | None = None
    blocked: bool = Field(default=False)
    blocked_at: datetime | None = None
    # Safety status (dialogs/safety.py): the red-flag tier (A, B, C; None: none), the symptom
    # that set it and when. A and B hold the client back from sales, tips and prompts until
    # they say a doctor has checked them (`safety_cleared_at`). Health data: kept only with
    # health consent, erased with it.
    safety_tier: str | None = Field(default=None, max_length=1)
    safety_symptom: str | None = Field(default=None, max_length=32)
    safety_at: datetime | None = None
    safety_cleared_at: datetime | None = None
    # Symptoms a doctor has checked, as the client told it when a hold lifted: {symptom: {"on":
    # date, "by": who, "when": today|yesterday|week|before}}. A later self-check answer naming
    # one asks whether it is new or worse instead of holding them again. Health data.
    checked: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # The contraindications of their latest self-check ("laser,hands_on"): movement prompts
    # that clash with them are left out of the rotation. Health data.
    contra: str | None = Field(default=None, max_length=64)
    # The client's latest message in crisis words (dialogs/emergency.py): nothing is sold for
    # a day after it (dialogs.engine.CRISIS_QUIET); the retention job clears it then. Kept
    # with or without health consent, for that day only (the client's vital interest).
    crisis_at: datetime | None = None
    # The message carrying the current screening question's live buttons: when the question
    # is asked again in a new message, this one is edited so only one copy stays live.
    question_message_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)
    last_active_at: datetime = Field(default_factory=utcnow, index=True)


class Screening(SQLModel, table=True):
    """One run of the self-check. `key` is the opaque reference used in buttons and links."""

    __table_args__ = (Index("ix_screening_client_status", "client_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(
        sa_column=Column(Integer, ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    )
    key: str = Field(max_length=16, unique=True)
    questionnaire_version: int
    status: str = Field(default=ScreeningStatus.IN_PROGRESS, max_length=16)
    red_flag_tier: str | None = Field(default=None, max_length=1)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = Field(default=None, index=True)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # The message showing its result with booking buttons (in the client's chat): when a
    # red-flag hold starts later, it loses them and its suggestions.
    result_message_id: int | None = Field(default=None, sa_type=BigInteger)


class Answer(SQLModel, table=True):
    """One answer, saved as it is given so a restart loses nothing."""

    __table_args__ = (UniqueConstraint("screening_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    screening_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("screening.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    position: int
    question_id: str = Field(max_length=32)
    option_id: str = Field(max_length=32)
    answered_at: datetime = Field(default_factory=utcnow)


class Handoff(SQLModel, table=True):
    """A client's request to talk to a person, and each message relayed to the staff chat.

    A request is created when the client is asked to confirm, with the screening the
    confirmation described: "yes" sends exactly that, once. `staff_message_id` links the
    post in the staff chat to the client, so a staff reply to it reaches them.
    """

    # The open requests (/inbox, the alert job) are found among every post ever relayed; a
    # staff member has one reply from /inbox in the making at most (two Reply presses at once
    # leave one row: `storage.inbox.start_reply` upserts on this index).
    __table_args__ = (
        Index("ix_handoff_kind_status", "kind", "status"),
        Index(
            "ux_handoff_reply",
            "taken_by",
            unique=True,
            sqlite_where=text("kind = 'reply'"),
            postgresql_where=text("kind = 'reply'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("client.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    # request | relay (a client's message) | staff (a staff reply's receipt) | detail (health
    # details shown on demand, removed after a day) | note (a staff action's note) | reply (a
    # staff member writing an answer from /inbox)
    kind: str = Field(default=PostKind.REQUEST, max_length=8)
    # asked | sending | sent | declined | failed | closed | deleted (a detail post removed) |
    # writing (a reply row, until the answer is sent or cancelled)
    status: str = Field(default=HandoffStatus.ASKED, max_length=8)
    screening_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("screening.id", ondelete="SET NULL"), nullable=True),
    )
    # Message ids are unique only within a chat: a post is found by chat and id together.
    staff_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    staff_message_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    # The staff inbox (bot.handlers.inbox), on requests: when it reached the clinic, who took
    # it (a staff member's Telegram id and first name) and when, when it was closed, and when
    # the "waited too long" alert went to the staff chat (claimed by a conditional update, so
    # it goes once whichever replica sees it due). On a `reply` row (a staff member writing
    # an answer from /inbox, status `writing`), `taken_by` is that staff member, `created_at`
    # when they pressed Reply (the bot's clock: reply mode expires).
    sent_at: datetime | None = None
    taken_by: int | None = Field(default=None, sa_type=BigInteger)
    taken_by_name: str | None = Field(default=None, max_length=128)
    taken_at: datetime | None = None
    closed_at: datetime | None = None
    alerted_at: datetime | None = None
    # Why a request is urgent though the client did not ask: "crisis" (the team was alerted
    # to crisis words; /inbox shows it first).
    urgent: str | None = Field(default=None, max_length=8)
    # What the client wrote with /human, kept until the request goes (then posted under it)
    # or is declined.
    words: str | None = None


class ReminderPlan(SQLModel, table=True):
    """A client's movement-break reminders: their working hours and where the schedule is.

    `next_due_at` (indexed) is when the next prompt falls due; the scheduler's tick reads the
    due rows, so no job per client exists anywhere. Times of day are minutes after midnight
    in the client's own time zone; days are a string of seven 0/1 flags, Monday first.
    """

    __table_args__ = (Index("ix_reminderplan_due", "status", "next_due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("client.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    status: str = Field(default=PlanStatus.SETUP, max_length=8)  # setup|active|paused|asking|off
    step: str | None = Field(default=None, max_length=8)  # the setup question being asked
    days: str = Field(default="1111100", max_length=7)
    start_minute: int = 9 * 60
    end_minute: int = 17 * 60
    interval_seconds: int = 3600
    timezone: str = Field(default="Europe/London", max_length=64)
    offset_seconds: int = 0
    next_due_at: datetime | None = None
    summary_due_at: datetime | None = Field(default=None, index=True)
    paused_until: datetime | None = None
    prompt_seq: int = 0
    last_prompt: str | None = Field(default=None, max_length=32)
    last_prompt_on: date | None = None
    last_interaction_on: date | None = None
    unanswered_days: int = 0
    answered_seq: int = 0  # the latest prompt acted on: its buttons (and typed words) are spent
    created_at: datetime = Field(default_factory=utcnow)


class BreakDay(SQLModel, table=True):
    """Movement breaks a client marked done on one local day (for streaks and summaries)."""

    __table_args__ = (UniqueConstraint("client_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(
        sa_column=Column(Integer, ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    )
    day: date
    done: int = 0


class PainCheckin(SQLModel, table=True):
    """A client's weekly "how is your back?" check-in (dialogs/progress.py): one a client-local
    week at most (`week`, that week's Monday), created when it is sent. `score` 0-10 once
    answered; `answered_at` set with no score means skipped. Health data: kept only with
    health consent, erased when it is withdrawn, and with the client."""

    __table_args__ = (UniqueConstraint("client_id", "week"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(
        sa_column=Column(Integer, ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    )
    week: date
    asked_at: datetime = Field(default_factory=utcnow)
    score: int | None = None
    answered_at: datetime | None = None


class Event(SQLModel, table=True):
    """Something that happened, for staff figures. Never holds answers; the few facts drawn
    from them (band, services, red-flag tier) are unlinked from the client as soon as they
    withdraw consent or delete their data, leaving anonymous counts."""

    __table_args__ = (Index("ix_event_kind_at", "kind", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("client.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    kind: str = Field(max_length=32)
    at: datetime = Field(default_factory=utcnow)
    data: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class Broadcast(SQLModel, table=True):
    """A tip from staff to opted-in clients, from its draft to its last delivery.

    `status`: compose (waiting for the staff member's text), when (waiting for a typed date
    and time), draft (previewed), scheduled, sending, done or cancelled. `template` is the
    staff member's message as Telegram HTML with Jinja2 placeholders, rendered per client.
    `segment` narrows the audience (see `storage.audience`).
    """

    # AUTOINCREMENT on SQLite: a dropped draft's number is never given to the next tip.
    __table_args__ = (
        Index("ix_broadcast_status_at", "status", "scheduled_at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(sa_type=BigInteger)  # the staff member's Telegram id (and chat)
    status: str = Field(default=BroadcastStatus.COMPOSE, max_length=12)
    template: str | None = None
    photo: str | None = Field(default=None, max_length=256)  # a Telegram file id
    segment: str = Field(default="all", max_length=80)
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    status_message_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)


class Delivery(SQLModel, table=True):
    """One recipient of a broadcast. Marked `sending` (committed) before the request leaves
    and `sent` with Telegram's message id after: a crash in between leaves `sending`, which
    the next start reports as `unconfirmed` instead of sending again."""

    __table_args__ = (
        UniqueConstraint("broadcast_id", "client_id"),
        Index("ix_delivery_broadcast_status", "broadcast_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(
        sa_column=Column(Integer, ForeignKey("broadcast.id", ondelete="CASCADE"), nullable=False)
    )
    # A client's /delete unlinks their deliveries (client and chat become NULL) instead of
    # removing them, so a broadcast's history ("sent 1 of 1") stays as it was.
    client_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("client.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    chat_id: int | None = Field(default=None, sa_type=BigInteger)
    # pending | sending | sent | blocked | failed | unconfirmed | skipped (opted out meanwhile)
    status: str = Field(default=DeliveryStatus.PENDING, max_length=12)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    reason: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(default_factory=utcnow)


class SendMeter(SQLModel, table=True):
    """How fast each running replica is replying right now (new messages a second), written
    every second, so that all replicas together keep to the one bot token's budget."""

    replica: str = Field(primary_key=True, max_length=64)
    reply_rate: float
    updated_at: datetime = Field(default_factory=utcnow)
