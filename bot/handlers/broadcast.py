"""Staff broadcasts: /broadcast, /tips, /broadcasts, the preview panel and its buttons; and the
clients' side of tips (the unsubscribe button). The Telegram side: `bot.cases.tips` decides.

The commands are registered for STAFF_IDS only; every button press is checked again there
(a client replaying a staff button's data gets "out of date" and nothing else).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from telegram import Update
from telegram.error import TelegramError

from bot.cases import tips
from bot.cases.privacy import switch_consent
from bot.handlers.common import chat_id, message_of, telegram_user
from bot.replies import edit_pressed, markup
from bot.services import BotContext
from dialogs import broadcasts as dialog
from dialogs.render import labels, render
from dialogs.replies import Reply
from dialogs.statuses import BroadcastStatus
from storage.models import Broadcast


async def on_broadcast(update: Update, context: BotContext) -> None:
    """/broadcast: ask for the tip."""
    await _reply(update, await tips.ask_tip(context.services, telegram_user(update)))


async def on_tips(update: Update, context: BotContext) -> None:
    """/tips: the library of ready tips, one button each."""
    await _reply(update, tips.library(context.services))


async def on_broadcasts(update: Update, context: BotContext) -> None:
    """/broadcasts: recent and planned broadcasts with their figures."""
    await _reply(update, await tips.listing(context.services))


async def take_staff_message(update: Update, context: BotContext, draft: Broadcast) -> None:
    """A staff member's message while their tip (or its time) is awaited. An edit of a
    message is not taken (the preview would no longer match): they are told."""
    message = message_of(update)
    if update.edited_message:
        await message.reply_text(render("staff/edit_not_taken"))
        return
    if draft.status != BroadcastStatus.COMPOSE:
        said = await tips.plan(context.services, draft, message.text or "")
    elif message.photo:
        source, photo = message.caption_html or "", message.photo[-1].file_id
        said = await tips.compose(
            context.services, context.bot, telegram_user(update), draft, source, photo
        )
    elif message.text:
        source = message.text_html
        said = await tips.compose(
            context.services, context.bot, telegram_user(update), draft, source, None
        )
    else:
        said = Reply(render("staff/tip_unsupported"))
    if said is not None:
        await _reply(update, said)


async def cancel_draft(update: Update, context: BotContext) -> bool:
    """/cancel from a staff member with a tip in the making: drop it. False: none."""
    user = update.effective_user
    if user is None or not context.services.is_staff(user.id):
        return False
    said = await tips.drop_open_draft(context.services, user.id)
    if said is None:
        return False
    await _reply(update, said)
    return True


async def on_press(update: Update, context: BotContext, press: dialog.BroadcastPress) -> None:
    """A staff button of a broadcast: done only while the broadcast is in a fitting state."""
    query = update.callback_query
    assert query is not None
    pressed = tips.Press(
        context.services,
        context.bot,
        telegram_user(update),
        press,
        query.message.message_id if query.message else None,
    )
    if press.action in ("stop", "x"):
        done = await tips.stop(pressed, _canceller(context))
    else:
        done = await tips.ACTIONS[press.action](pressed)
    if done is None:
        await query.answer(labels.stale)
        return
    await query.answer(done.notice.text, show_alert=done.notice.alert)
    if done.preview is not None:
        await tips.preview(context.services, context.bot, pressed.staff, done.preview)
    if done.relist:
        with contextlib.suppress(TelegramError):  # the list shown anew: the old one may stay
            listed = await tips.listing(context.services)
            await edit_pressed(query, listed.text, markup(listed.buttons))
    if done.edit is not None:
        await edit_pressed(query, done.edit.text, markup(done.edit.buttons))
    if done.then is not None:
        await context.bot.send_message(query.from_user.id, done.then)


def _canceller(context: BotContext) -> Callable[[int], None]:
    """This replica's broadcaster stops sending a broadcast at once (others see it stopped)."""
    broadcaster = context.application.bot_data.get("broadcaster")
    return broadcaster.cancel if broadcaster is not None else (lambda _bid: None)


async def on_unsubscribe(update: Update, context: BotContext, _: dialog.Unsubscribe) -> None:
    """The "Unsubscribe from tips" button under every tip (and under a staff preview, where it
    only says what it does for clients)."""
    query = update.callback_query
    assert query is not None
    if context.services.is_staff(query.from_user.id):
        await query.answer(labels.tips_preview_unsubscribe, show_alert=True)
        return
    switched = await switch_consent(context.services, query.from_user.id, "tips", False)
    if switched.client is None or not switched.changed:
        await query.answer(labels.tips_already_off if switched.client else labels.stale)
        return
    await query.answer(labels.tips_unsubscribed)
    with contextlib.suppress(TelegramError):  # the tip stays; its button goes
        await query.edit_message_reply_markup(None)
    await context.bot.send_message(
        chat_id(update), render("tips_switched", known=True, agree=False)
    )


async def _reply(update: Update, said: Reply) -> None:
    await message_of(update).reply_text(said.text, reply_markup=markup(said.buttons))
