"""Every button press, decoded once (`dialogs.callbacks`) and handed to the handler of its
kind. A kind of button is registered where its dialog lives; its handler is one entry here;
`tests/test_callbacks.py` proves every kind has one. Data no kind decodes (forged, truncated,
from an older version) is answered as out of date; a staff kind pressed by anyone else is
answered so, and nothing runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bot.handlers import broadcast, conversation, human, inbox, privacy, progress, reminders
from bot.services import BotContext
from dialogs import broadcasts as tips
from dialogs import events, presses
from dialogs import progress as checkins
from dialogs import reminders as moves
from dialogs.callbacks import decode
from dialogs.render import labels

Handler = Callable[[Update, BotContext, Any], Awaitable[None]]

HANDLERS: dict[type, Handler] = {
    # the client's conversation: consent, the self-check, the hold
    events.Consent: conversation.on_press,
    events.NewScreening: conversation.on_press,
    events.AnswerGiven: conversation.on_press,
    events.Back: conversation.on_press,
    events.Resume: conversation.on_press,
    events.StartOver: conversation.on_press,
    events.DoctorChecked: conversation.on_press,
    events.CheckedAgain: conversation.on_press,
    events.FaqAsked: conversation.on_faq,
    # a person at the clinic
    events.TalkToStaff: human.on_talk_to_staff,
    presses.ShareRequest: human.on_request_answer,
    presses.DeclineRequest: human.on_request_answer,
    presses.CloseConversation: human.on_close,
    presses.ShowDetails: human.on_details,
    presses.InboxPage: inbox.on_press,
    presses.InboxAction: inbox.on_press,
    # privacy
    presses.SwitchConsent: privacy.on_switch,
    presses.DeleteEverything: privacy.on_delete_press,
    presses.KeepData: privacy.on_delete_press,
    # movement breaks and the weekly check-in
    events.OpenReminders: reminders.on_press,
    moves.Choose: reminders.on_press,
    moves.TypeZone: reminders.on_press,
    moves.ZoneConfirm: reminders.on_press,
    moves.ZoneRetype: reminders.on_press,
    moves.Manage: reminders.on_press,
    moves.PromptAction: reminders.on_press,
    moves.CheckIn: reminders.on_press,
    checkins.Answer: progress.on_press,
    # tips
    tips.BroadcastPress: broadcast.on_press,
    tips.Unsubscribe: broadcast.on_unsubscribe,
}


async def on_press(update: Update, context: BotContext) -> None:
    """Decode the press and run its kind's handler (staff kinds for staff only)."""
    query = update.callback_query
    assert query is not None
    pressed = decode(query.data)
    handler = HANDLERS.get(type(pressed)) if pressed is not None else None
    if handler is None:
        await query.answer(labels.stale)
        return
    if getattr(pressed, "staff_only", False) and not context.services.is_staff(query.from_user.id):
        # In a group (the staff group's posts) say why; in a private chat a staff button can
        # only be replayed: out of date, like any other data the bot did not give them.
        private = query.message is not None and query.message.chat.type == "private"
        await query.answer(labels.stale if private else labels.staff_only, show_alert=not private)
        return
    await handler(update, context, pressed)
