"""Everything a person sends outside a button: text, captions, stickers, photos, edits,
unknown commands. One place decides what it means, from what the chat is waiting for
(`dialogs.awaiting`), and the emergency-phrase check stands ahead of every client mode."""

from __future__ import annotations

from telegram import Update

from bot.chat import load_chat
from bot.handlers.broadcast import take_staff_message
from bot.handlers.common import backlog, telegram_user
from bot.handlers.conversation import run_and_deliver
from bot.handlers.human import relay_to_staff
from bot.handlers.inbox import send_inbox_reply
from bot.handlers.reminders import answer_typed
from bot.services import BotContext
from dialogs.awaiting import CLIENT_MODES, Awaiting
from dialogs.emergency import detect
from dialogs.events import Emergency, Unexpected


async def on_free_text(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    text = message.text or message.caption or ""
    chat = await load_chat(
        context.services,
        telegram_user(update).id,
        edited=update.edited_message is not None,
        command=text.startswith("/"),
        typed=bool(message.text),
    )
    symptom = detect(text, context.services.phrases) if chat.awaiting in CLIENT_MODES else None
    if symptom is not None:  # an emergency in their own words: the advice before anything
        talking = chat.awaiting is Awaiting.CONVERSATION  # it goes on to the team below
        await run_and_deliver(update, context, Emergency(symptom.id, symptom.label, talking))
    match chat.awaiting:
        case Awaiting.STAFF_TIP:
            assert chat.draft is not None
            await take_staff_message(update, context, chat.draft)
        case Awaiting.STAFF_REPLY:
            assert chat.reply is not None
            await send_inbox_reply(update, context, chat.reply)
        case Awaiting.CONVERSATION:
            assert chat.client is not None and chat.handoff is not None
            await relay_to_staff(update, context, chat.client, chat.handoff, urgent=symptom)
        case Awaiting.ZONE | Awaiting.HOURS | Awaiting.SETUP if symptom is None:
            await answer_typed(update, context, chat.awaiting)
        case _ if symptom is None and backlog(context, update) <= 1:
            # A reminder and the question again (after the last of a burst of stickers); a
            # sticker, photo or voice note with no words gets a reminder of its own.
            await run_and_deliver(update, context, Unexpected(media=not text))
