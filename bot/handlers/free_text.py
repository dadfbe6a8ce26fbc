"""Everything a person sends outside a button: text, captions, stickers, photos, edits,
unknown commands. One place decides what it means, from what the chat is waiting for
(`dialogs.awaiting`), and the check for crisis words and red flags stands ahead of every
client mode: its answer is the very next message, whatever the chat was waiting for."""

from __future__ import annotations

from telegram import Update

from bot.chat import Chat, load_chat
from bot.handlers.broadcast import take_staff_message
from bot.handlers.common import backlog, chat_id, telegram_user
from bot.handlers.conversation import run_and_deliver
from bot.handlers.human import alert_crisis, ask_hand_off, relay_to_staff
from bot.handlers.inbox import send_inbox_reply
from bot.handlers.reminders import answer_typed, typed_at_a_prompt
from bot.services import BotContext
from dialogs.awaiting import CLIENT_MODES, Awaiting
from dialogs.emergency import Findings, scan
from dialogs.events import Crisis, DoctorToday, Emergency, Unexpected
from dialogs.render import render


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
    found = scan(text, context.services.phrases) if chat.awaiting in CLIENT_MODES else Findings()
    alerted = False
    if found:
        chat, alerted = await _answer_findings(update, context, chat, found)
    match chat.awaiting:
        case Awaiting.STAFF_TIP:
            assert chat.draft is not None
            await take_staff_message(update, context, chat.draft)
        case Awaiting.STAFF_REPLY:
            assert chat.reply is not None
            await send_inbox_reply(update, context, chat.reply)
        case Awaiting.STAFF_IDLE if backlog(context, update) <= 1:
            await message.reply_text(render("staff/stray"))
        case Awaiting.CONVERSATION:
            assert chat.client is not None and chat.handoff is not None
            if found or not await typed_at_a_prompt(update, context, talking=True):
                await relay_to_staff(
                    update, context, chat.client, chat.handoff, found, confirm=not alerted
                )
        case Awaiting.ZONE | Awaiting.HOURS | Awaiting.SETUP if not found:
            await answer_typed(update, context, chat.awaiting)
        case Awaiting.NOTHING if not found and await typed_at_a_prompt(update, context):
            pass  # "done", "stop"...: what the prompt's buttons do
        case _ if not found and backlog(context, update) <= 1:
            # A reminder and the question again (after the last of a burst of stickers); a
            # sticker, photo or voice note with no words gets a reminder of its own.
            await run_and_deliver(update, context, Unexpected(media=not text))


async def on_human(update: Update, context: BotContext) -> None:
    """/human, with or without words after it: the words are read as anything typed is
    (crisis words and red flags answered first), then go to the team with the request."""
    message = update.effective_message
    assert message is not None
    words = (message.text or "").partition(" ")[2].strip()
    found = scan(words, context.services.phrases) if words else Findings()
    if found:
        chat = await load_chat(
            context.services, telegram_user(update).id, edited=False, command=False, typed=True
        )
        if chat.awaiting in CLIENT_MODES:
            await _answer_findings(update, context, chat, found)
    await ask_hand_off(update, context, words)


async def _answer_findings(
    update: Update, context: BotContext, chat: Chat, found: Findings
) -> tuple[Chat, bool]:
    """Crisis words first (the lines and a person), then a red flag's advice (tier A: an
    emergency; B: a doctor today). Crisis words outside a conversation with the team alert
    the team and open one (`alert_crisis`): the chat is in that conversation afterwards, so
    these very words go on to the team as the client's first message there (True: alerted)."""
    talking = chat.awaiting is Awaiting.CONVERSATION
    opened = None
    if found.crisis is not None:
        if not talking:
            opened = await alert_crisis(context, telegram_user(update), chat_id(update))
        await run_and_deliver(
            update,
            context,
            Crisis(negated=found.crisis_negated, talking=talking, team_told=opened is not None),
        )
        if opened is not None:  # the words themselves go on to the team
            chat = Chat(Awaiting.CONVERSATION, *opened)
            talking = True
    symptom = found.symptom
    if symptom is not None and symptom.tier == "A":
        await run_and_deliver(update, context, Emergency(symptom.id, symptom.label, talking))
    elif symptom is not None:
        await run_and_deliver(update, context, DoctorToday(symptom.id, symptom.label, talking))
    return chat, opened is not None
