"""The client's conversation: /start, consent, the screening's buttons, /cancel.

Each handler turns an update into an engine event, runs it (`bot.conversation.run_event`) and
delivers the replies. Nothing is decided here.
"""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.conversation import run_event
from bot.handlers.broadcast import cancel_draft
from bot.handlers.common import chat_id, clean_source, telegram_user
from bot.replies import deliver
from bot.services import BotContext
from dialogs.events import Cancel, Event, Start, decode
from dialogs.render import labels


async def on_start(update: Update, context: BotContext) -> None:
    source = clean_source(context.args[0] if context.args else None)
    await run_and_deliver(update, context, Start(source))


async def on_cancel(update: Update, context: BotContext) -> None:
    if await cancel_draft(update, context):  # a staff member stopping a tip in the making
        return
    await run_and_deliver(update, context, Cancel())


async def on_button(update: Update, context: BotContext) -> None:
    """Any screening or consent button. Stale or forged data is answered and changes nothing."""
    query = update.callback_query
    assert query is not None
    event = decode(query.data)
    step = None
    if event is not None:
        step = await run_event(
            context.services, telegram_user(update), chat_id(update), event, create=False
        )
    if step is None or step.stale:
        await query.answer(labels.stale)
        return
    pressed = query.message if query.message and query.message.is_accessible else None
    await asyncio.gather(
        query.answer(step.notice),
        deliver(context.bot, chat_id(update), step.replies, pressed=pressed),  # type: ignore[arg-type]
    )


async def run_and_deliver(update: Update, context: BotContext, event: Event) -> None:
    """Run a typed event (a command, free text) and send the replies."""
    step = await run_event(
        context.services, telegram_user(update), chat_id(update), event, create=True
    )
    if step is not None:
        await deliver(context.bot, chat_id(update), step.replies)
