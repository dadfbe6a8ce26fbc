"""/export: the funnel of clients with health consent as a CSV file (`bot.cases.figures`),
sent to the staff member's private chat and tracked as a post about each client in it.
Registered for STAFF_IDS only."""

from __future__ import annotations

from telegram import InputFile, Update

from bot.cases.figures import funnel
from bot.handlers.inbox import send_privately
from bot.services import BotContext
from dialogs.statuses import PostKind


async def on_export(update: Update, context: BotContext) -> None:
    """The CSV file, named by the clinic's date, with a caption saying what is (not) in it."""
    found = await funnel(context.services)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    document = InputFile(found.content, filename=found.name)
    await send_privately(
        context, message, user.id, found.clients, PostKind.EXPORT, found.caption, document=document
    )
