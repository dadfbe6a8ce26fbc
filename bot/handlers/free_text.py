"""Everything a person sends outside a button: text, captions, stickers, photos, edits,
unknown commands. What the chat is waiting for (`dialogs.awaiting`) decides what it means,
through one registry (`bot.modes`), and the check for crisis words and red flags stands
ahead of every client mode: its answer is the very next message, whatever the chat was
waiting for. A command ends the mode it ends first (`end_mode_on_command`)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.cases.chat import Chat, load_chat
from bot.cases.handoff import alert_crisis
from bot.handlers.common import chat_id, telegram_user
from bot.handlers.conversation import run_and_deliver
from bot.handlers.human import ask_hand_off
from bot.modes import MODES, ends
from bot.services import BotContext
from dialogs.awaiting import CLIENT_MODES, Awaiting
from dialogs.emergency import Findings, scan
from dialogs.events import Crisis, DoctorToday, Emergency


async def on_free_text(update: Update, context: BotContext) -> None:
    """What the chat waits for reads the message (`bot.modes`), after any crisis words or red
    flags in it have been answered."""
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
    await MODES[chat.awaiting].read(update, context, chat, found, alerted)


async def end_mode_on_command(update: Update, context: BotContext) -> None:
    """Before any command: a mode it ends (`bot.modes.ends`) ends first, saying what was
    cancelled; /cancel then has nothing more to do (otherwise it is the self-check's)."""
    message = update.effective_message
    assert message is not None
    command = (message.text or "/").split()[0].split("@")[0].lstrip("/").casefold()
    chat = await load_chat(
        context.services, telegram_user(update).id, edited=False, command=False, typed=True
    )
    mode = MODES[chat.awaiting]
    if mode.end is not None and ends(mode, command):
        said = await mode.end(update, context)
        if said and command == "cancel":
            raise ApplicationHandlerStop


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
            opened = await alert_crisis(
                context.services, context.bot, telegram_user(update), chat_id(update)
            )
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
