"""/inbox for staff: the open hand-off requests, with Take, Reply and Close per request, and
the alert for a request that has waited too long in opening hours.

Registered for STAFF_IDS only, in a private chat with the bot or in the staff group (see
`bot.app`). The list and its buttons come from `dialogs.inbox`; who took what, the reply mode
and the alert's claim live in the database (`storage.inbox`), so they hold across restarts
and replicas. Reply puts the staff member's next message in their private chat on its way to
the client (`dialogs.awaiting.Awaiting.STAFF_REPLY`), delivered as a reply in the staff group
is (`bot.handlers.human.deliver_staff_reply`), if it comes within STAFF_REPLY_TIMEOUT and
before any other command or tip of theirs; a copy goes under the request's post in the staff
group, so the group's thread shows the whole conversation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session
from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.handlers.human import clip, close_request, deliver_staff_reply
from bot.replies import markup
from bot.services import BotContext, Services
from bot.staff_posts import post_note
from dialogs.awaiting import STAFF_REPLY_TIMEOUT
from dialogs.inbox import Entry, inbox_view, shared_safety
from dialogs.presses import InboxAction, InboxPage
from dialogs.render import labels, render
from dialogs.replies import Keyboard
from dialogs.statuses import PostKind
from dialogs.telegram_html import parse_html
from storage import inbox, repo
from storage.models import Client, Handoff

log = logging.getLogger(__name__)
# An alert the staff chat refused is tried again after 1, 2, 4... minutes, at most hourly.
ALERT_RETRY_FIRST = timedelta(minutes=1)
ALERT_RETRY_MAX = timedelta(hours=1)
REPLY_MINUTES = int(STAFF_REPLY_TIMEOUT.total_seconds() // 60)  # as staff are told it


@dataclass
class AlertRetry:
    """An alert that could not be posted (kept per replica in `Services.alert_retries`)."""

    failures: int
    next_try: datetime


async def on_inbox(update: Update, context: BotContext) -> None:
    """/inbox: the first page of open requests, in the staff member's private chat ("taken by
    you" marks their own): asked in the staff group, it names clients and their safety status
    to whoever else is in the group, so it goes privately and the group hears only that."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    viewer = update.effective_user.id
    text, keyboard, listed = await _view(context.services, 0, viewer)
    await send_privately(context, message, viewer, listed, PostKind.LISTING, text, markup(keyboard))


async def send_privately(
    context: BotContext,
    message: Message,
    staff_id: int,
    clients: list[int],
    kind: str,
    text: str | None = None,
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
    services, now = context.services, context.services.clock()
    post = (sent.chat_id, sent.message_id)
    await services.db.run(lambda s: repo.record_posts(s, clients, post, kind, now))
    if in_group:
        await message.reply_text(render("staff/sent_privately", bot=context.bot.username))


async def on_press(update: Update, context: BotContext, press: InboxPage | InboxAction) -> None:
    """Another page, or take, reply to or close one request; the page is shown again."""
    query = update.callback_query
    assert query is not None
    services, user = context.services, query.from_user
    if isinstance(press, InboxPage):
        await query.answer()
        await _refresh(query, services, press.page)
        return
    match press.action:
        case "take":
            await _take(query, context, press.request)
        case "reply":
            await _reply(query, context, press.request)
        case "close":
            closed = await close_request(context, press.request, user.first_name)
            await query.answer(labels.handoff_closed if closed else labels.inbox_gone)
    await _refresh(query, services, press.page)


async def tell_reply_gone(bot: Bot, staff_ids: list[int], name: str) -> None:
    """Staff writing a reply to a client who has just erased their data: it can't go."""
    for staff_id in staff_ids:
        try:
            await bot.send_message(staff_id, render("staff/inbox_reply_gone", name=name))
        except TelegramError:
            log.warning("could not tell a staff member their reply can't be sent")


async def _take(query: CallbackQuery, context: BotContext, request_id: int) -> None:
    """Take the request (once: a second staff member is told who has it); the staff group
    sees who took it, under the request's post."""
    services, user = context.services, query.from_user
    now = services.clock()
    found, took = await services.db.run(
        lambda s: inbox.take(s, request_id, user.id, user.first_name, now)
    )
    if found is None:
        await query.answer(labels.inbox_gone, show_alert=True)
        return
    request = found.request
    if not took:
        if request.taken_by == user.id:
            await query.answer(labels.inbox_yours)
        else:
            who = request.taken_by_name
            taken = labels.inbox_taken_by.format(name=who) if who else labels.inbox_taken_by_someone
            await query.answer(taken, show_alert=True)
        return
    await query.answer(labels.inbox_taken)
    text = render("staff/inbox_taken", staff_name=user.first_name, name=found.client.first_name)
    await post_note(context.bot, services, request, text)


async def _reply(query: CallbackQuery, context: BotContext, request_id: int) -> None:
    """The staff member's next message in their private chat goes to the client."""
    services, user = context.services, query.from_user
    now = services.clock()
    found = await services.db.run(lambda s: inbox.start_reply(s, request_id, user.id, now))
    if found is None:
        await query.answer(labels.inbox_gone, show_alert=True)
        return
    ask = render(
        "staff/inbox_reply_ask",
        name=found.client.first_name,
        minutes=REPLY_MINUTES,
    )
    try:
        await context.bot.send_message(user.id, ask)
    except TelegramError as error:
        await services.db.run(lambda s: inbox.end_reply(s, user.id))
        if isinstance(error, Forbidden | BadRequest):  # never opened a private chat with us
            await query.answer(labels.inbox_open_chat, show_alert=True)
        else:
            log.warning("could not ask a staff member for their reply: %s", error)
            await query.answer(labels.sorry, show_alert=True)
        return
    in_private = query.message is not None and query.message.chat.type == "private"
    await query.answer(None if in_private else labels.inbox_write_reply)


async def send_inbox_reply(update: Update, context: BotContext, reply: Handoff) -> None:
    """The message a staff member typed after Reply: to the client, once, if it comes within
    STAFF_REPLY_TIMEOUT (later, it is not sent and they are told: reply mode ends)."""
    message = update.message
    assert message is not None and message.from_user is not None
    services, staff_id = context.services, message.from_user.id
    if services.clock() - reply.created_at > STAFF_REPLY_TIMEOUT:
        client = await services.db.run(lambda s: inbox.end_reply(s, staff_id, reply.id))
        if client is not None:
            name = client.first_name
            expired = render("staff/inbox_reply_expired", name=name, minutes=REPLY_MINUTES)
            await message.reply_text(expired)
        return
    if message.text is None:
        client = await services.db.run(lambda s: s.get(Client, reply.client_id))
        name = client.first_name if client else ""
        await message.reply_text(render("staff/inbox_reply_text_only", name=name))
        return
    client = await services.db.run(lambda s: inbox.end_reply(s, staff_id, reply.id))
    if client is not None and await deliver_staff_reply(context, message, client):
        await _copy_to_group(context, message, client)


async def _copy_to_group(context: BotContext, message: Message, client: Client) -> None:
    """Colleagues see a reply sent from /inbox in the staff group, under the client's request
    post, as they see one made there (it is the team's note: a reply to it stays in the team).
    The client has it already: a group that refuses the copy costs a line in the log."""
    services, sender = context.services, message.from_user
    assert sender is not None
    request = await services.db.run(lambda s: inbox.request_post(s, client.id))  # type: ignore[arg-type]
    chat = services.settings.staff_chat_id
    if chat is None or request is None or request.staff_message_id is None:
        return
    if request.staff_chat_id != chat:
        return  # its post is in a staff chat no longer configured: not the group's thread
    text = render(
        "staff/inbox_reply_copy",
        staff_name=sender.first_name,
        name=client.first_name,
        text=clip(message.text or ""),
    )
    await post_note(context.bot, services, request, text, quiet=True)


async def cancel_reply(update: Update, context: BotContext) -> bool:
    """/cancel from a staff member writing a reply: nothing is sent. False if they were not."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or not context.services.is_staff(user.id):
        return False
    client = await context.services.db.run(lambda s: inbox.end_reply(s, user.id))
    if client is None:
        return False
    await message.reply_text(render("staff/inbox_reply_cancelled", name=client.first_name))
    return True


async def send_due_alerts(services: Services, bot: Bot) -> int:
    """Post the alert for each request that has waited longer than HANDOFF_ALERT_MINUTES of
    opening hours with nobody taking or answering it: once per request, whichever replica
    claims it first. A post that fails is tried again later, backing off (ALERT_RETRY_FIRST,
    doubling up to ALERT_RETRY_MAX) and logged in full only the first time, so a staff chat
    the bot can't post to is not a traceback a minute. Returns how many went."""
    settings, retries = services.settings, services.alert_retries
    now = services.clock()
    hours, minutes = settings.opening_hours, settings.handoff_alert_minutes
    due = await services.db.run(lambda s: inbox.due_alerts(s, now, hours, minutes))
    sent = 0
    for request_id in due:
        retry = retries.get(request_id)
        if retry is not None and now < retry.next_try:
            continue
        found = await services.db.run(lambda s, r=request_id: inbox.claim_alert(s, r, now))  # type: ignore[misc]
        if found is None:
            continue  # taken, closed or alerted meanwhile
        waited = hours.open_time_between(found.since, now).total_seconds() // 60
        text = render("staff/inbox_alert", name=found.client.first_name, minutes=int(waited))
        if await post_note(bot, services, found.request, text, quiet=retry is not None):
            retries.pop(request_id, None)
            sent += 1
            continue
        await services.db.run(lambda s, r=request_id: inbox.unclaim_alert(s, r))  # type: ignore[misc]
        failures = retry.failures + 1 if retry else 1
        wait = min(ALERT_RETRY_FIRST * 2 ** (failures - 1), ALERT_RETRY_MAX)
        retries[request_id] = AlertRetry(failures, now + wait)
    return sent


async def _view(
    services: Services, page: int, viewer: int | None
) -> tuple[str, Keyboard, list[int]]:
    """One page of the inbox (`viewer`: whose "taken by you" to show), and the clients it
    lists (the page is a post about each of them)."""
    now = services.clock()

    def load(session: Session) -> list[Entry]:
        return [
            Entry(
                request_id=found.request.id,  # type: ignore[arg-type]
                client_id=found.client.id,  # type: ignore[arg-type]
                name=found.client.first_name,
                since=found.since,
                safety=shared_safety(
                    found.client.safety_tier,
                    found.client.safety_at,
                    found.request.screening_id is not None,
                    found.since,
                    found.request.urgent,
                ),
                taken_by=found.request.taken_by,
                taken_by_name=found.request.taken_by_name,
                answered_at=found.answered_at,
            )
            for found in inbox.open_requests(session, now)
        ]

    entries = await services.db.run(load)
    text, keyboard, shown = inbox_view(entries, page, now, services.settings.clinic_zone, viewer)
    return text, keyboard, [entry.client_id for entry in shown]


async def _refresh(query: CallbackQuery, services: Services, page: int) -> None:
    """Show the inbox's page anew on the pressed message, unless nothing changed."""
    message = query.message
    if message is None or not message.is_accessible:
        return
    viewer = query.from_user.id if message.chat.type == "private" else None
    text, keyboard, listed = await _view(services, page, viewer)
    reply_markup = markup(keyboard)
    shown = message.reply_markup  # type: ignore[union-attr]
    if parse_html(text).text == message.text and reply_markup == shown:  # type: ignore[union-attr]
        return  # Telegram refuses an edit that changes nothing
    await query.edit_message_text(text, reply_markup=reply_markup)
    post, now = (message.chat.id, message.message_id), services.clock()
    await services.db.run(lambda s: repo.record_posts(s, listed, post, PostKind.LISTING, now))
