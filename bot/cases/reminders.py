"""Movement-break reminders between the pure dialog (dialogs/reminders.py) and the rows.

`run_reminder_event` handles a client's tap or typed time zone in one transaction;
`due_now` and `take` are the scheduler's side: the first reads the prompts and summaries that
are due, the second claims one (moving its plan on) once its send slot is granted. The week's
first prompt carries the weekly pain check-in ahead of it (`dialogs.progress`), claimed with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from sqlmodel import Session

from bot.cases.conversation import safety_of
from bot.services import Services
from dialogs import progress
from dialogs import reminders as dialog
from dialogs.replies import Reply
from dialogs.safety import HOLDING_TIERS
from dialogs.schedule import week_of
from dialogs.statuses import PlanStatus
from storage import progress as checkins
from storage import repo
from storage.models import Client, ReminderPlan, stored_id

BREAKS_LOOKBACK = timedelta(days=120)  # enough for any streak worth showing


@dataclass(frozen=True)
class Outgoing:
    """A prompt or weekly summary that fell due: to whom, what, and the plan as it was read.
    It is claimed (`take`) only once its send slot is granted."""

    chat_id: int
    replies: tuple[Reply, ...]
    plan_id: int
    kind: Literal["prompt", "summary"]
    before: dialog.Plan
    checkin_week: date | None = None  # the week whose pain check-in goes with this prompt

    @property
    def due_at(self) -> datetime | None:
        return self.before.next_due if self.kind == "prompt" else self.before.summary_due


# Plan field -> ReminderPlan column, for the fields stored as they are (days and next_due
# are the two that change form on the way).
_COLUMNS = {
    "status": "status",
    "step": "step",
    "start": "start_minute",
    "end": "end_minute",
    "interval": "interval_seconds",
    "zone": "timezone",
    "offset": "offset_seconds",
    "summary_due": "summary_due_at",
    "paused_until": "paused_until",
    "seq": "prompt_seq",
    "last_prompt": "last_prompt",
    "last_prompt_on": "last_prompt_on",
    "last_interaction_on": "last_interaction_on",
    "unanswered_days": "unanswered_days",
    "answered_seq": "answered_seq",
}


def to_plan(row: ReminderPlan | None) -> dialog.Plan:
    if row is None:
        return dialog.Plan()
    return dialog.Plan(
        days=frozenset(i for i, flag in enumerate(row.days) if flag == "1"),
        next_due=row.next_due_at,
        **{field: getattr(row, column) for field, column in _COLUMNS.items()},
    )


def save_plan(row: ReminderPlan, plan: dialog.Plan) -> None:
    """Write the plan's fields back to its row (unchanged values are not written)."""
    values = {column: getattr(plan, field) for field, column in _COLUMNS.items()}
    values["days"] = "".join("1" if d in plan.days else "0" for d in range(7))
    values["next_due_at"] = plan.next_due if plan.status == PlanStatus.ACTIVE else None
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def context(
    services: Services, client: Client, now: datetime, breaks: dict[date, int]
) -> dialog.Context:
    settings = services.settings
    return dialog.Context(
        now=now,
        key=stored_id(client),
        default_interval=int(settings.reminder_interval.total_seconds()),
        clinic_zone=services.clinic.timezone,
        name=client.first_name,
        breaks=breaks,
        safety=safety_of(client, services),
        contra=frozenset((client.contra or "").split(",")) - {""},
    )


async def run_reminder_event(
    services: Services,
    user_id: int,
    event: dialog.Event,
    *,
    only_if: Callable[[dialog.Plan], bool] | None = None,
) -> dialog.Step | None:
    """Apply a reminder event for this client. None if they are unknown (send /start first)
    or `only_if` says the plan is not expecting it."""
    now = services.clock()

    def transaction(session: Session) -> dialog.Step | None:
        client = repo.active_client(session, user_id)
        if client is None:
            return None
        client_id = stored_id(client)
        row = repo.reminder_plan(session, client_id)
        plan = to_plan(row)
        if only_if is not None and not only_if(plan):
            return None
        since = (now - BREAKS_LOOKBACK).date()
        breaks = repo.recent_breaks(session, client_id, since) if row else {}
        result = dialog.step(plan, event, context(services, client, now, breaks))
        if not result.stale and result.plan != plan:
            if row is None:
                row = ReminderPlan(client_id=client_id)
                session.add(row)
            save_plan(row, result.plan)
        if result.break_done is not None:
            repo.count_break(session, client_id, result.break_done)
        repo.record_events(session, client_id, result.events)
        return result

    return await services.db.run(transaction)


async def reminders_on(services: Services, user_id: int) -> bool:
    """Whether this client has movement-break reminders they could turn off."""

    def read(session: Session) -> bool:
        client = repo.get_client(session, user_id)
        row = repo.reminder_plan(session, stored_id(client)) if client else None
        return row is not None and row.status in (
            PlanStatus.ACTIVE,
            PlanStatus.PAUSED,
            PlanStatus.ASKING,
        )

    return await services.db.run(read)


def due_now(
    services: Services, session: Session, now: datetime, limit: int, queued: set[int]
) -> list[Outgoing]:
    """What is due (prompts first, then summaries), leaving out plans already queued here.
    A prompt that is to be skipped (missed while the bot was down, or a quiet week) moves its
    plan on at once; one that is to be sent is only read: `take` claims it at its send slot,
    so a crash loses nothing and a second process cannot send it too."""
    out: list[Outgoing] = []
    due: tuple[tuple[Literal["prompt", "summary"], list[tuple[ReminderPlan, Client]]], ...] = (
        ("prompt", repo.due_prompts(session, now, limit + len(queued))),
        ("summary", repo.due_summaries(session, now, limit + len(queued))),
    )
    for kind, rows in due:
        for row, client in rows:
            if row.id in queued or len(out) >= limit:
                continue
            result, week = _step(services, session, kind, row, client, now)
            if result.replies:
                before = to_plan(row)
                plan_id = stored_id(row)
                out.append(Outgoing(client.chat_id, result.replies, plan_id, kind, before, week))
            else:
                _save(session, row, client, result)
    return out


def take(services: Services, session: Session, item: Outgoing, now: datetime) -> bool:
    """Claim a due message at its send slot: only if the plan is still as it was read, the
    client still reachable and not held, and the message still the same. Moves the plan on.
    The row is locked (PostgreSQL) so two processes cannot both claim it."""
    row = session.get(ReminderPlan, item.plan_id, with_for_update=True)
    if row is None or to_plan(row) != item.before:
        return False
    client = session.get(Client, row.client_id)
    if client is None or client.blocked or client.safety_tier in HOLDING_TIERS:
        return False
    result, week = _step(services, session, item.kind, row, client, now)
    if result.replies != item.replies:
        return False
    if week is not None and not checkins.claim(session, stored_id(client), week, now):
        return False
    _save(session, row, client, result)
    return True


def put_back(session: Session, item: Outgoing, *, asked: bool = False) -> None:
    """A claimed message that never left (no connection to Telegram): due again as before.
    `asked`: the pain check-in ahead of the prompt did leave, so it stays claimed and the
    prompt goes again alone (the client is not asked twice)."""
    row = session.get(ReminderPlan, item.plan_id, with_for_update=True)
    if row is not None:
        save_plan(row, item.before)
        if item.checkin_week is not None and not asked:
            checkins.unclaim(session, row.client_id, item.checkin_week)


def _step(
    services: Services,
    session: Session,
    kind: str,
    row: ReminderPlan,
    client: Client,
    now: datetime,
) -> tuple[dialog.Step, date | None]:
    """What is due, and the week of a pain check-in that goes with it (`dialogs.progress`)."""
    plan = to_plan(row)
    if kind == "prompt":
        result = dialog.due(plan, context(services, client, now, {}))
        week = _checkin_week(session, plan, result, client, now)
        if week is not None:
            asking = progress.question(week, client.first_name)
            result = replace(result, replies=(asking, *result.replies))
        return result, week
    breaks = repo.recent_breaks(session, stored_id(client), (now - BREAKS_LOOKBACK).date())
    return dialog.summary(plan, context(services, client, now, breaks)), None


def _checkin_week(
    session: Session, plan: dialog.Plan, result: dialog.Step, client: Client, now: datetime
) -> date | None:
    """The client's week (its Monday) if its pain check-in is to go right before this
    prompt: a prompt is being sent, the client consented to health answers and is not held,
    and this week's has not been asked yet."""
    if result.plan.seq == plan.seq or not client.health_consent:
        return None
    if client.safety_tier in HOLDING_TIERS:
        return None
    week, _ = week_of(plan.window, now)
    return None if checkins.asked(session, stored_id(client), week) else week


def _save(session: Session, row: ReminderPlan, client: Client, result: dialog.Step) -> None:
    save_plan(row, result.plan)
    repo.record_events(session, stored_id(client), result.events)
