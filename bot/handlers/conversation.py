"""The client's conversation: /start, consent, the screening's buttons, /cancel.

Each handler turns an update into an engine event, runs it (`bot.cases.conversation.run_event`) and
delivers the replies. Nothing is decided here.
"""

from __future__ import annotations

import asyncio

from telegram import Message, Update

from bot.cases.conversation import (
    Placement,
    Ran,
    move_question,
    note_result_message,
    question_after,
    run_event,
)
from bot.cases.handoff import tell_team_lifted
from bot.handlers.common import chat_id, clean_source, telegram_user
from bot.replies import accessible, deliver, retire_question, unbook
from bot.services import BotContext
from dialogs.events import Cancel, DoctorChecked, Event, FaqAsked, Start
from dialogs.render import labels
from dialogs.statuses import Stage


async def on_start(update: Update, context: BotContext) -> None:
    source = clean_source(context.args[0] if context.args else None)
    await run_and_deliver(update, context, Start(source))


async def on_cancel(update: Update, context: BotContext) -> None:
    """/cancel when no mode it ends was open (bot.modes): the self-check's, or nothing."""
    await run_and_deliver(update, context, Cancel())


async def on_press(update: Update, context: BotContext, event: Event) -> None:
    """A screening, consent or hold button. A press the state does not fit is answered and
    changes nothing."""
    query = update.callback_query
    assert query is not None
    pressed = accessible(query.message)
    ran = await run_event(
        context.services,
        telegram_user(update),
        chat_id(update),
        event,
        create=False,
        pressed=pressed.message_id if pressed else None,
    )
    if ran is None or ran.step.stale:
        await query.answer(ran.step.notice if ran and ran.step.notice else labels.stale)
        return
    await asyncio.gather(
        query.answer(ran.step.notice),
        deliver_step(update, context, ran, pressed=pressed),
    )
    if ran.step.lifted is not None and isinstance(event, DoctorChecked):
        await tell_team_lifted(
            context.services, context.bot, telegram_user(update).id, ran.step.lifted, event
        )


async def on_faq(update: Update, context: BotContext, event: FaqAsked) -> None:
    """An everyday question's button (under /help): its answer, as a message of its own.
    Anyone may ask, a person the bot does not know yet too."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await run_and_deliver(update, context, event)


async def run_and_deliver(update: Update, context: BotContext, event: Event) -> None:
    """Run a typed event (a command, free text) and send the replies."""
    ran = await run_event(
        context.services, telegram_user(update), chat_id(update), event, create=True
    )
    if ran is not None:
        await deliver_step(update, context, ran)


async def deliver_step(
    update: Update, context: BotContext, ran: Ran, *, pressed: Message | None = None
) -> None:
    """Send a step's replies, keeping one live copy of the screening question: when the
    question goes to another message than the one that carried it, the older copy loses its
    buttons first (so the client sees it change before the new copy arrives). When the
    self-check stops other than on that message (/cancel, start over, an emergency typed),
    its buttons go after the replies (the copy keeps its text: nothing follows the urgent
    advice but a question that can no longer be answered)."""
    step, old = ran.step, ran.question_message_id
    bot, chat = context.bot, chat_id(update)
    in_place = pressed is not None and pressed.message_id == old
    replaced = in_place and any(r.replace for r in step.replies)
    asks = any(r.live for r in step.replies)
    screening = step.state.stage is Stage.SCREENING
    if old is not None and asks and not replaced:
        await retire_question(bot, chat, old, moved=True)
    delivered = await deliver(bot, chat, step.replies, pressed=pressed)
    if old is not None and not (asks or screening or replaced):
        await retire_question(bot, chat, old, moved=False)
    await unbook(bot, chat, ran.unbooked)  # a hold has just started: no booking anywhere
    # What run_event wrote, if it could foresee it (`placement`); else where it was.
    placed = ran.placed or Placement(old, None)
    now = question_after(step, delivered.live, old)
    if now != placed.question:
        await move_question(context.services, telegram_user(update).id, now)
    booking = delivered.booking
    if booking is not None and booking != placed.booking and step.outcome is not None:
        await note_result_message(context.services, step.outcome.key, booking)
