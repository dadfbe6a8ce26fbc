"""/help, /id, blocking and unblocking, joining a group, the per-client throttle, and the error
handler."""

from __future__ import annotations

import contextlib
import logging
import time

from telegram import ChatMember, Update
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.cases import membership
from bot.handlers.common import message_of
from bot.replies import accessible, markup
from bot.services import BotContext
from bot.throttle import Verdict
from dialogs import i18n
from dialogs.emergency import scan
from dialogs.render import labels, render
from storage.db import is_outage

log = logging.getLogger(__name__)


async def set_language(update: Update, context: BotContext) -> None:
    """Answer this update in the person's Telegram language when the clinic offers it, else
    in the clinic's first (`dialogs.i18n.LANGUAGE`: the handlers of one update share its
    task, and the database thread gets a copy of its context)."""
    user = update.effective_user
    clinic = context.services.clinic
    i18n.LANGUAGE.set(clinic.language_for(user.language_code if user else None))


async def on_help(update: Update, context: BotContext) -> None:
    user = update.effective_user
    faq = context.services.content.faq
    staff = context.services.is_staff(user.id if user else None)
    text = render("help", staff=staff, faq=bool(faq.entries))
    await message_of(update).reply_text(text, reply_markup=markup(faq.buttons()))


async def in_private(update: Update, context: BotContext) -> None:
    """A tip command in the staff group: tips are written in a private chat with the bot."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(render("staff/in_private", bot=context.bot.username))


async def on_id(update: Update, context: BotContext) -> None:
    """/id, for whoever sets the bot up (not in the menu): in a private chat the sender's
    user id, for STAFF_IDS; in a group, from anyone, the group's id, for STAFF_CHAT_ID."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if message.chat.type == ChatType.PRIVATE:
        staff = context.services.is_staff(user.id)
        await message.reply_text(render("setup/user_id", user_id=user.id, staff=staff))
    else:
        await message.reply_text(_group_id(message.chat.id, context))


def _group_id(chat: int, context: BotContext) -> str:
    staff_group = chat == context.services.settings.staff_chat_id
    return render("setup/group_id", chat_id=chat, staff_group=staff_group)


async def on_membership(update: Update, context: BotContext) -> None:
    """A client blocked the bot (kicked) or came back (member); or the bot was added to a
    group, where it posts the group's id for STAFF_CHAT_ID (setting up needs it)."""
    change = update.my_chat_member
    if change is None:
        return
    if change.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        joined = change.new_chat_member.status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR)
        if joined and change.old_chat_member.status in (ChatMember.LEFT, ChatMember.BANNED):
            try:
                await context.bot.send_message(change.chat.id, _group_id(change.chat.id, context))
            except TelegramError as exc:  # a group where members may not write
                log.warning("could not post a new group's id there: %s", exc.message)
        return
    if change.chat.type != ChatType.PRIVATE:
        return
    blocked = change.new_chat_member.status == ChatMember.BANNED
    chat = change.chat.id
    known = await membership.set_blocked(context.services, chat, blocked)
    if known:
        log.info("a client %s the bot", "blocked" if blocked else "unblocked")


async def throttle_messages(update: Update, context: BotContext) -> None:
    """Runs before every handler of a client's messages: past a few a minute, one "slow down"
    note, then nothing until the chat calms down (bot.throttle). Staff are not throttled."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or context.services.is_staff(user.id):
        return
    text = message.text or message.caption or ""
    emergency = bool(text) and bool(scan(text, context.services.phrases))
    verdict = context.services.throttle.check(
        message.chat_id, time.monotonic(), emergency=emergency
    )
    if verdict is Verdict.ALLOW:
        return
    if verdict is Verdict.WARN:
        await message.reply_text(render("slow_down"))
    raise ApplicationHandlerStop


async def reject_forged_presses(update: Update, context: BotContext) -> None:
    """Runs before every button handler. Telegram sends the pressed message with its current
    buttons, so data that is not on any of them was made up (a modified client): answer it
    and stop there."""
    query = update.callback_query
    assert query is not None
    message = accessible(query.message)
    if message is None:
        return  # too old for Telegram to include; the handlers' own checks apply
    markup = message.reply_markup
    offered = {b.callback_data for row in markup.inline_keyboard for b in row} if markup else set()
    if query.data not in offered:
        await query.answer(labels.stale)
        raise ApplicationHandlerStop


async def on_error(update: object, context: BotContext) -> None:
    """Log with context; tell the client something went wrong; keep serving everyone else."""
    error = context.error
    if isinstance(error, Forbidden):
        log.info("not delivered (%s): the client blocked the bot or left", error)
        return
    unreachable = is_outage(error)  # the database is away or too slow: not a bug
    if unreachable and isinstance(error, Exception):
        context.services.database_trouble(error)
    if not isinstance(update, Update):
        if not unreachable:
            log.error("a job or background task failed", exc_info=error)
        return
    if not unreachable:  # the update's number, never who sent it (see bot.logs)
        log.error("handling update %s failed", update.update_id, exc_info=error)
    if update.callback_query is not None:
        # Already answered, or too late: either way there is nothing more to do.
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer(labels.sorry)
    chat = update.effective_chat
    if chat is not None and chat.type == "private":
        try:
            await context.bot.send_message(chat.id, render("apology"))
        except TelegramError:
            log.warning("could not send the apology to a client")
