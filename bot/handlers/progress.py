"""/progress (the client's chart) and the buttons under the weekly pain check-in (pn:*).

The decisions are `dialogs.progress`'s; this reads and writes the rows and draws the chart in
a worker thread, so other chats are answered meanwhile.
"""

from __future__ import annotations

import asyncio

from sqlmodel import Session
from telegram import InputFile, Update

from bot.conversation import safety_of
from bot.handlers.common import chat_id, telegram_user
from bot.reminders import to_plan
from bot.replies import deliver
from bot.services import BotContext
from dialogs import charts, progress
from dialogs.render import labels, render
from dialogs.safety import Safety
from dialogs.schedule import week_of
from storage import progress as checkins
from storage import repo


async def on_progress(update: Update, context: BotContext) -> None:
    """The last weeks as a chart with one sentence about the trend, or a plain answer why
    there is none (no consent for health answers, or nothing yet)."""
    services = context.services
    user_id = telegram_user(update).id
    now = services.clock()

    def load(session: Session) -> progress.Series | str | Safety:
        client = repo.active_client(session, user_id)
        if client is None:
            return "needs_start"
        if not client.health_consent:
            return "progress/no_consent"
        row = repo.reminder_plan(session, client.id)  # type: ignore[arg-type]
        safety = safety_of(client, services)
        if row is None and safety.holds:
            return safety  # reminders wait for a doctor's check: the advice, not /reminders
        if row is None:
            return "progress/no_data"
        this_week, _ = week_of(to_plan(row).window, now)  # the client's own week
        weeks = progress.weeks_to(this_week)
        breaks = repo.recent_breaks(session, client.id, weeks[0])  # type: ignore[arg-type]
        answers = checkins.scores(session, client.id, weeks[0])  # type: ignore[arg-type]
        data = progress.series(weeks, breaks, answers)
        return data if progress.has_data(data) else "progress/no_data"

    found = await services.db.run(load)
    message = update.effective_message
    assert message is not None
    if isinstance(found, str):
        await message.reply_text(render(found))
        return
    if isinstance(found, Safety):
        await deliver(context.bot, chat_id(update), (progress.nothing_while_held(found),))
        return
    png = await asyncio.to_thread(
        charts.progress_chart,
        found.weeks,
        found.breaks,
        found.pain,
        breaks_label=labels.chart_breaks,
        pain_label=labels.chart_pain,
        week_label=labels.chart_week,
    )
    await context.bot.send_photo(
        chat_id(update),
        InputFile(png, filename=labels.progress_file),
        caption=progress.caption(found),
    )


async def on_press(update: Update, context: BotContext, pressed: progress.Answer) -> None:
    """The answer to the weekly check-in is recorded once; a second tap, an old check-in or
    made-up data is answered with a short notice and changes nothing."""
    query = update.callback_query
    assert query is not None
    services = context.services
    user_id = telegram_user(update).id
    if not pressed.valid:
        await query.answer(labels.stale)
        return
    now = services.clock()
    questionnaire = services.questionnaire

    def transaction(session: Session) -> progress.Outcome | None:
        client = repo.active_client(session, user_id)
        if client is None:
            return None
        client_id: int = client.id  # type: ignore[assignment]
        row = checkins.checkin(session, client_id, pressed.week)
        stored = None
        if row is not None:
            stored = checkins.to_checkin(row)
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

    outcome = await services.db.run(transaction)
    if outcome is None or not outcome.replies:
        await query.answer(outcome.notice if outcome else labels.stale)
        return
    message = query.message if query.message and query.message.is_accessible else None
    await asyncio.gather(
        query.answer(outcome.notice),
        deliver(context.bot, chat_id(update), outcome.replies, pressed=message),  # type: ignore[arg-type]
    )
