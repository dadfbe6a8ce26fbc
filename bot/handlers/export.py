"""/export: the funnel of clients with health consent as a CSV file, for the clinic's own
records (no contact details; see `storage.export`), sent to the staff member's private chat
and tracked as a post about each client in it. Registered for STAFF_IDS only."""

from __future__ import annotations

import asyncio

from telegram import InputFile, Update

from bot.handlers.inbox import send_privately
from bot.services import BotContext
from dialogs.export import to_csv
from dialogs.render import environment, render
from dialogs.statuses import PostKind
from storage import export


async def on_export(update: Update, context: BotContext) -> None:
    """The CSV file, named by the clinic's date, with a caption saying what is (not) in it."""
    services = context.services
    zone = services.settings.clinic_zone
    rows = await services.db.read(lambda s: export.funnel(s, zone))
    texts = environment().get_template("staff/export.j2").module
    content = await asyncio.to_thread(
        to_csv,
        rows,
        texts.columns,
        texts.words,
        bands=texts.bands,
        services={key: s.name for key, s in services.questionnaire.services.items()},
    )
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    name = str(texts.file_name(services.clock().astimezone(zone).date()))
    caption = render("staff/export_caption", count=len(rows), zone=zone)
    clients = [row.client_id for row in rows]
    document = InputFile(content, filename=name)
    await send_privately(
        context, message, user.id, clients, PostKind.EXPORT, caption, document=document
    )
