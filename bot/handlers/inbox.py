"""/inbox for staff: the Telegram side (`bot.cases.inbox` decides). The open hand-off
requests, with Take, Reply and Close per request.

Registered for STAFF_IDS only, in a private chat with the bot or in the staff group (see
`bot.app`). Asked in the group, a page names clients and their safety status to whoever else
is in the group, so it goes to the staff member's private chat and the group hears only that.
"""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import BadRequest, Forbidden

from bot.cases import inbox
from bot.cases.handoff import close_request
from bot.replies import accessible, markup
from bot.services import BotContext
from dialogs.presses import InboxAction, InboxPage
from dialogs.render import labels, render
from dialogs.replies import Notice
from dialogs.statuses import PostKind
from dialogs.telegram_html import parse_html
from storage.models import Handoff


async def on_inbox(update: Update, context: BotContext) -> None:
    """/inbox: the first page of open requests, in the staff member's private chat ("taken by
    you" marks their own)."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    viewer = update.effective_user.id
    shown = await inbox.page(context.services, 0, viewer)
    await send_privately(
        context,
        message,
        viewer,
        shown.clients,
        PostKind.LISTING,
        shown.text,
        markup(shown.keyboard),
    )


async def send_privately(
    context: BotContext,
    message: Message,
    staff_id: int,
    clients: list[int],
    kind: PostKind,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    document: InputFile | None = None,
) -> None:
    """A staff view naming clients (an /inbox page, an /export file), sent to the staff
    member's private chat whatever chat asked, and tracked as a post about each client in it
    (removed with their data). Asked in the group, the group is told where it went, or that
    the staff member must open a private chat with the bot first."""
    in_group = message.chat.type != "private"
    try:
        if document is not None:
            sent = await context.bot.send_document(staff_id, document, caption=text)
        else:
            sent = await context.bot.send_message(staff_id, text, reply_markup=reply_markup)
    except (Forbidden, BadRequest):
        if not in_group:
            raise
        await message.reply_text(render("staff/open_private_chat", bot=context.bot.username))
        return
    await inbox.record_view(context.services, clients, (sent.chat_id, sent.message_id), kind)
    if in_group:
        await message.reply_text(render("staff/sent_privately", bot=context.bot.username))


async def on_press(update: Update, context: BotContext, press: InboxPage | InboxAction) -> None:
    """Another page, or take, reply to or close one request; the page is shown again."""
    query = update.callback_query
    assert query is not None
    services, bot, user = context.services, context.bot, query.from_user
    if isinstance(press, InboxPage):
        await query.answer()
        await _refresh(query, context, press.page)
        return
    match press.action:
        case "take":
            taken = await inbox.take(services, press.request, user.id, user.first_name)
            await query.answer(taken.notice.text, show_alert=taken.notice.alert)
            await inbox.post_taken(services, bot, taken)
            await _refresh(query, context, press.page)
            return
        case "reply":
            asked = await inbox.start_reply(services, bot, press.request, user.id)
            private = query.message is not None and query.message.chat.type == "private"
            notice = asked or Notice(None if private else labels.inbox_write_reply)
        case _:  # "close"
            closed = await close_request(services, bot, press.request, user.first_name)
            notice = Notice(labels.handoff_closed if closed else labels.inbox_gone)
    await query.answer(notice.text, show_alert=notice.alert)
    await _refresh(query, context, press.page)


async def send_inbox_reply(update: Update, context: BotContext, reply: Handoff) -> None:
    """The message a staff member typed after Reply (the chat's STAFF_REPLY mode)."""
    message = update.message
    assert message is not None
    await inbox.send_reply(context.services, context.bot, message, reply)


async def cancel_reply(update: Update, context: BotContext) -> bool:
    """/cancel from a staff member writing a reply: nothing is sent. False if they were not."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or not context.services.is_staff(user.id):
        return False
    name = await inbox.cancel_reply(context.services, user.id)
    if name is None:
        return False
    await message.reply_text(render("staff/inbox_reply_cancelled", name=name))
    return True


async def _refresh(query: CallbackQuery, context: BotContext, number: int) -> None:
    """Show the inbox's page anew on the pressed message, unless nothing changed."""
    message = accessible(query.message)
    if message is None:
        return  # too old for Telegram to say what it was
    viewer = query.from_user.id if message.chat.type == "private" else None
    shown = await inbox.page(context.services, number, viewer)
    reply_markup = markup(shown.keyboard)
    if parse_html(shown.text).text == message.text and reply_markup == message.reply_markup:
        return  # Telegram refuses an edit that changes nothing
    await query.edit_message_text(shown.text, reply_markup=reply_markup)
    post = (message.chat.id, message.message_id)
    await inbox.record_view(context.services, shown.clients, post, PostKind.LISTING)
