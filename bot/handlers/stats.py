"""/stats: figures for staff over the clinic's last 7 and 30 days (`bot.cases.figures`), as a
chart of each day with the totals as its caption, then the detailed figures. Registered for
STAFF_IDS only (see `bot.app`); for anyone else it is an unknown command like any other."""

from __future__ import annotations

from telegram import InputFile, Update

from bot.cases.figures import figures
from bot.services import BotContext
from dialogs.render import labels


async def on_stats(update: Update, context: BotContext) -> None:
    """The chart with the totals as its caption, then the detailed figures."""
    found = await figures(context.services)
    message = update.effective_message
    assert message is not None
    await message.reply_photo(
        InputFile(found.chart, filename=labels.stats_file), caption=found.caption
    )
    await message.reply_text(found.details)
