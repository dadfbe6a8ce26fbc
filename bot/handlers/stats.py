"""/stats: figures for staff over the clinic's last 7 and 30 days, as a chart of each day with
the totals as its caption, then the detailed figures. Registered for STAFF_IDS only (see
`bot.app`); for anyone else it is an unknown command like any other."""

from __future__ import annotations

import asyncio

from telegram import InputFile, Update

from bot.services import BotContext
from dialogs.charts import draw_stats
from dialogs.render import labels, render
from storage import stats


async def on_stats(update: Update, context: BotContext) -> None:
    """The chart with the totals as its caption, then the detailed figures."""
    services = context.services
    now = services.clock()
    zone = services.settings.clinic_zone
    known = tuple(services.questionnaire.services)
    figures = await services.db.read(lambda s: stats.collect(s, now, zone=zone, services=known))
    # Drawing takes a CPU-bound moment: in a worker thread, so other chats are answered meanwhile.
    chart = await asyncio.to_thread(draw_stats, figures.dates, figures.daily, zone)
    message = update.effective_message
    assert message is not None
    await message.reply_photo(
        InputFile(chart, filename=labels.stats_file),
        caption=render("staff/stats_caption", stats=figures, zone=zone),
    )
    # The detailed figures never fit a caption's 1024 characters: a message of their own.
    text = render(
        "staff/stats",
        stats=figures,
        services=services.questionnaire.services,
        local_now=now.astimezone(zone),
    )
    await message.reply_text(text)
