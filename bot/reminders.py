"""Movement-break reminders between the pure dialog (dialogs/reminders.py) and the rows.

`run_reminder_event` handles a client's tap or typed time zone in one transaction;
`claim_due` is the scheduler's side: it takes the prompts and summaries that are due, moves
each plan on to its next time, and returns the messages to send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from bot.conversation import safety_of
from bot.services import Services
from dialogs import reminders as dialog
from dialogs.replies import Reply
from storage import repo
from storage.models import Client, ReminderPlan

BREAKS_LOOKBACK = timedelta(days=120)  # enough for any streak worth showing


@dataclass(frozen=True)
class Outgoing:
    """A message the scheduler sends: to whom, what, and what to put back if it is not."""

    chat_id: int
    reply: Reply
    plan_id: int
    seq: int
    due_at: datetime | None  # for a prompt: when it fell due


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
    values["next_due_at"] = plan.next_due if plan.status == "active" else None
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def context(
    services: Services, client: Client, now: datetime, breaks: dict[date, int]
) -> dialog.Context:
    settings = services.settings
    return dialog.Context(
        now=now,
        key=client.id,  # type: ignore[arg-type]
        default_interval=int(settings.reminder_interval.total_seconds()),
        clinic_zone=settings.clinic_timezone,
        name=client.first_name,
        breaks=breaks,
        safety=safety_of(client, services.questionnaire),
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
        row = repo.reminder_plan(session, client.id)  # type: ignore[arg-type]
        plan = to_plan(row)
        if only_if is not None and not only_if(plan):
            return None
        since = (now - BREAKS_LOOKBACK).date()
        breaks = repo.recent_breaks(session, client.id, since) if row else {}  # type: ignore[arg-type]
        result = dialog.step(plan, event, context(services, client, now, breaks))
        if not result.stale and result.plan != plan:
            if row is None:
                row = ReminderPlan(client_id=client.id)  # type: ignore[arg-type]
                session.add(row)
            save_plan(row, result.plan)
        if result.break_done is not None:
            repo.count_break(session, client.id, result.break_done)  # type: ignore[arg-type]
        for kind, data in result.events:
            repo.record_event(session, client.id, kind, data)
        return result

    return await services.db.run(transaction)


def claim_due(services: Services, session: Session, now: datetime, limit: int) -> list[Outgoing]:
    """Take what is due (prompts first, then summaries), move each plan on, and return the
    messages. A claimed message that is never sent is lost, never doubled (see `unclaim`)."""
    out: list[Outgoing] = []
    for row, client in repo.due_prompts(session, now, limit):
        due_at = row.next_due_at
        result = dialog.due(to_plan(row), context(services, client, now, {}))
        save_plan(row, result.plan)
        for kind, data in result.events:
            repo.record_event(session, client.id, kind, data)
        out += [
            Outgoing(client.chat_id, r, row.id, result.plan.seq, due_at) for r in result.replies
        ]  # type: ignore[arg-type]
    for row, client in repo.due_summaries(session, now, max(0, limit - len(out))):
        breaks = repo.recent_breaks(session, client.id, (now - BREAKS_LOOKBACK).date())  # type: ignore[arg-type]
        result = dialog.summary(to_plan(row), context(services, client, now, breaks))
        save_plan(row, result.plan)
        out += [Outgoing(client.chat_id, r, row.id, result.plan.seq, None) for r in result.replies]  # type: ignore[arg-type]
    return out


def unclaim(session: Session, items: list[Outgoing]) -> None:
    """Prompts claimed but not sent (the bot is stopping): due again, so they go out after a
    restart if still in time. A plan that has moved on since is left alone."""
    for item in items:
        if item.due_at is None:
            continue
        row = session.get(ReminderPlan, item.plan_id)
        if row is not None and row.prompt_seq == item.seq and row.status == "active":
            row.next_due_at = item.due_at
