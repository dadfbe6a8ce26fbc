"""Movement-break reminders: /reminders, the settings and prompt buttons, a typed time zone
and typed working hours."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.cases.reminders import reminders_on, run_reminder_event
from bot.handlers.common import chat_id, message_of, telegram_user
from bot.replies import accessible, deliver
from bot.services import BotContext
from dialogs import reminders as dialog
from dialogs.awaiting import Awaiting
from dialogs.render import labels, render


async def on_reminders(update: Update, context: BotContext) -> None:
    step = await run_reminder_event(context.services, telegram_user(update).id, dialog.Open())
    if step is None:
        await message_of(update).reply_text(render("needs_start"))
        return
    await deliver(context.bot, chat_id(update), step.replies)


async def on_press(update: Update, context: BotContext, event: dialog.Event) -> None:
    """The settings, the panel, the check-in, and the buttons under a prompt."""
    query = update.callback_query
    assert query is not None
    step = await run_reminder_event(context.services, telegram_user(update).id, event)
    if step is None or step.stale:
        await query.answer(step.notice if step and step.notice else labels.stale)
        return
    pressed = accessible(query.message)
    await asyncio.gather(
        query.answer(step.notice),
        deliver(context.bot, chat_id(update), step.replies, pressed=pressed),
    )


async def answer_typed(update: Update, context: BotContext, awaiting: Awaiting) -> None:
    """Typed text while the setup asks for a time zone or working hours (`dialogs.awaiting`)
    is the answer to that question; while it waits for a tap, it gets the question again."""
    message = update.message
    assert message is not None and message.text is not None
    event: dialog.Event
    match awaiting:
        case Awaiting.ZONE:
            event, still_asked = dialog.ZoneTyped(message.text), dialog.wants_zone
        case Awaiting.HOURS:
            event, still_asked = dialog.HoursTyped(message.text), dialog.wants_hours
        case _:
            event, still_asked = dialog.TypedAtButtons(), dialog.wants_tap
    step = await run_reminder_event(
        context.services,
        telegram_user(update).id,
        event,
        only_if=still_asked,  # another update may have moved the setup on meanwhile
    )
    if step is not None:
        await deliver(context.bot, chat_id(update), step.replies)


async def typed_at_a_prompt(update: Update, context: BotContext, *, talking: bool = False) -> bool:
    """A word typed instead of a prompt's button ("done", "snooze", "pause", "stop") acts on
    the latest prompt; True if it did (False: the message means something else here). While
    talking to the team, "stop" may be for them: it goes on to them, and turning the
    reminders off is offered beside."""
    message = update.message
    word = dialog.typed_word(message.text) if message and message.text else None
    if word is None:
        return False
    user_id = telegram_user(update).id
    if word == "stop" and talking:
        if await reminders_on(context.services, user_id):
            await deliver(context.bot, chat_id(update), (dialog.stop_which(),))
        return False
    step = await run_reminder_event(context.services, user_id, dialog.TypedWord(word))
    if step is None or step.stale:
        return False
    await deliver(context.bot, chat_id(update), step.replies)
    return True


async def stop_setup(update: Update, context: BotContext) -> bool:
    """A command while the setup asks something: it stops there, and says so. False if the
    setup was asking nothing (another update moved it on)."""
    user_id = telegram_user(update).id
    step = await run_reminder_event(context.services, user_id, dialog.StopSetup())
    if step is None or step.stale:
        return False
    await deliver(context.bot, chat_id(update), step.replies)
    return True
