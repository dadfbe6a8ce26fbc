"""/progress (the client's chart) and the buttons under the weekly pain check-in: the Telegram
side (`bot.cases.progress` reads and records). The chart is drawn in a worker thread, so other
chats are answered meanwhile.
"""

from __future__ import annotations

import asyncio

from telegram import InputFile, Update

from bot.cases import progress as cases
from bot.handlers.common import chat_id, telegram_user
from bot.replies import accessible, deliver
from bot.services import BotContext
from dialogs import charts, progress
from dialogs.render import labels, render
from dialogs.safety import Safety


async def on_progress(update: Update, context: BotContext) -> None:
    """The last weeks as a chart with one sentence about the trend, or a plain answer why
    there is none (no consent for health answers, or nothing yet)."""
    found = await cases.weeks(context.services, telegram_user(update).id)
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
    if not pressed.valid:
        await query.answer(labels.stale)
        return
    outcome = await cases.answer_checkin(context.services, telegram_user(update).id, pressed)
    if outcome is None or not outcome.replies:
        await query.answer(outcome.notice if outcome else labels.stale)
        return
    message = accessible(query.message)
    await asyncio.gather(
        query.answer(outcome.notice),
        deliver(context.bot, chat_id(update), outcome.replies, pressed=message),
    )
