"""/progress and the weekly pain check-in, as use cases: the client's weeks read for the chart,
and an answer to the check-in recorded once. The decisions are `dialogs.progress`'s."""

from __future__ import annotations

from sqlmodel import Session

from bot.cases.conversation import safety_of
from bot.cases.reminders import to_plan
from bot.services import Services
from dialogs import progress
from dialogs.render import labels
from dialogs.safety import Safety
from dialogs.schedule import week_of
from storage import progress as checkins
from storage import repo


async def weeks(services: Services, user_id: int) -> progress.Series | str | Safety:
    """The client's last weeks (breaks taken, pain scores) for the chart; or a template
    saying why there is none (no consent for health answers, or nothing yet); or the hold
    that keeps reminders waiting for a doctor's check."""
    now = services.clock()

    def load(session: Session) -> progress.Series | str | Safety:
        client = repo.active_client(session, user_id)
        if client is None or client.id is None:
            return "needs_start"
        if not client.health_consent:
            return "progress/no_consent"
        row = repo.reminder_plan(session, client.id)
        safety = safety_of(client, services)
        if row is None and safety.holds:
            return safety  # reminders wait for a doctor's check: the advice, not /reminders
        if row is None:
            return "progress/no_data"
        this_week, _ = week_of(to_plan(row).window, now)  # the client's own week
        shown = progress.weeks_to(this_week)
        breaks = repo.recent_breaks(session, client.id, shown[0])
        answers = checkins.scores(session, client.id, shown[0])
        data = progress.series(shown, breaks, answers)
        return data if progress.has_data(data) else "progress/no_data"

    return await services.db.run(load)


async def answer_checkin(
    services: Services, user_id: int, pressed: progress.Answer
) -> progress.Outcome | None:
    """The answer to the weekly check-in, recorded once; None: the client is unknown."""
    now = services.clock()
    questionnaire = services.questionnaire

    def transaction(session: Session) -> progress.Outcome | None:
        client = repo.active_client(session, user_id)
        if client is None or client.id is None:
            return None
        client_id = client.id
        row = checkins.checkin(session, client_id, pressed.week)
        stored = checkins.to_checkin(row) if row is not None else None
        outcome = progress.answer(
            stored,
            pressed,
            previous=checkins.previous_score(session, client_id, pressed.week),
            consent=bool(client.health_consent),
            safety=safety_of(client, services),
            emergency=questionnaire.flagged_symptoms("A"),
            doctor_today=questionnaire.flagged_symptoms("B"),
        )
        if outcome.record and not checkins.record(
            session, client_id, pressed.week, pressed.score, now
        ):
            return progress.Outcome(notice=labels.checkin_answered)  # a double tap, just now
        return outcome

    return await services.db.run(transaction)
