"""/stats: figures for staff over the last 7 and 30 days. Registered for STAFF_IDS only (see
`bot.app`); for anyone else it is an unknown command like any other."""

from __future__ import annotations

from telegram import Update

from bot.services import BotContext
from dialogs.render import render
from storage import stats


async def on_stats(update: Update, context: BotContext) -> None:
    services = context.services
    now = services.clock()
    known = tuple(services.questionnaire.services)
    figures = await services.db.run(lambda s: stats.collect(s, now, services=known))
    text = render(
        "staff/stats",
        stats=figures,
        services=services.questionnaire.services,
        local_now=now.astimezone(services.settings.clinic_zone),
    )
    await update.effective_message.reply_text(text)  # type: ignore[union-attr]
