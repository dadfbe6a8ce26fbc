"""/inbox as use cases: a page of open requests, taking one, answering one from a private
chat, and the alert for a request that has waited too long in opening hours.

Who took what, the reply mode and the alert's claim live in the database (`storage.inbox`), so
they hold across restarts and replicas; who may take a request is `dialogs.team`'s rule. Reply
puts the staff member's next message in their private chat on its way to the client
(`dialogs.awaiting.Awaiting.STAFF_REPLY`), delivered as a reply in the staff group is
(`bot.cases.handoff.deliver_staff_reply`), if it comes within STAFF_REPLY_TIMEOUT and before
any other command or tip of theirs; a copy goes under the request's post in the staff group,
so the group's thread shows the whole conversation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session
from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.cases.handoff import clip, deliver_staff_reply
from bot.cases.staff_posts import Post, post_note
from bot.services import Services
from dialogs.awaiting import STAFF_REPLY_TIMEOUT
from dialogs.inbox import Entry, inbox_view, shared_safety
from dialogs.render import labels, render
from dialogs.replies import Keyboard, Notice
from dialogs.statuses import PostKind
from dialogs.team import reply_too_late, take_notice
from storage import inbox, repo
from storage.models import Client, Handoff

log = logging.getLogger(__name__)
# An alert the staff chat refused is tried again after 1, 2, 4... minutes, at most hourly.
ALERT_RETRY_FIRST = timedelta(minutes=1)
ALERT_RETRY_MAX = timedelta(hours=1)
REPLY_MINUTES = int(STAFF_REPLY_TIMEOUT.total_seconds() // 60)  # as staff are told it


@dataclass(frozen=True)
class Page:
    """One page of the inbox, and the clients it lists (the page is a post about each)."""

    text: str
    keyboard: Keyboard
    clients: list[int]


async def page(services: Services, number: int, viewer: int | None) -> Page:
    """Page `number` of the open requests (`viewer`: whose "taken by you" to show)."""
    now = services.clock()

    def load(session: Session) -> list[Entry]:
        return [
            Entry(
                request_id=found.request.id,
                client_id=found.client.id,
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
            if found.request.id is not None and found.client.id is not None
        ]

    entries = await services.db.run(load)
    text, keyboard, shown = inbox_view(entries, number, now, services.clinic.zone, viewer)
    return Page(text, keyboard, [entry.client_id for entry in shown])


async def record_view(services: Services, clients: list[int], post: Post, kind: PostKind) -> None:
    """A staff view naming clients (an inbox page, an export file) is a post about each of
    them: removed with their data."""
    now = services.clock()
    await services.db.run(lambda s: repo.record_posts(s, clients, post, kind, now))


@dataclass(frozen=True)
class Taken:
    """What pressing Take did: the press's answer, and the note for the staff group if this
    staff member now has the request (posted after the answer: `post_taken`)."""

    notice: Notice
    request: Handoff | None = None
    note: str = ""


async def take(services: Services, request_id: int, staff_id: int, staff_name: str) -> Taken:
    """Take the request (once: a second staff member is told who has it)."""
    now = services.clock()
    found, won = await services.db.run(
        lambda s: inbox.take(s, request_id, staff_id, staff_name, now)
    )
    request = found.request if found else None
    notice = take_notice(
        found=found is not None,
        won=won,
        staff_id=staff_id,
        taken_by=request.taken_by if request else None,
        name=request.taken_by_name if request else None,
    )
    if found is None or not won:
        return Taken(notice)
    note = render("staff/inbox_taken", staff_name=staff_name, name=found.client.first_name)
    return Taken(notice, found.request, note)


async def post_taken(services: Services, bot: Bot, taken: Taken) -> None:
    """The staff group sees who took the request, under its post."""
    if taken.request is not None:
        await post_note(bot, services, taken.request, taken.note)


async def start_reply(
    services: Services, bot: Bot, request_id: int, staff_id: int
) -> Notice | None:
    """The staff member's next message in their private chat is to go to the client: they are
    asked for it there. A notice if that cannot be (the request is gone, or they never opened a
    private chat with the bot); None when they were asked."""
    now = services.clock()
    found = await services.db.run(lambda s: inbox.start_reply(s, request_id, staff_id, now))
    if found is None:
        return Notice(labels.inbox_gone, alert=True)
    ask = render("staff/inbox_reply_ask", name=found.client.first_name, minutes=REPLY_MINUTES)
    try:
        await bot.send_message(staff_id, ask)
    except TelegramError as error:
        await services.db.run(lambda s: inbox.end_reply(s, staff_id))
        if isinstance(error, Forbidden | BadRequest):  # never opened a private chat with us
            return Notice(labels.inbox_open_chat, alert=True)
        log.warning("could not ask a staff member for their reply: %s", error)
        return Notice(labels.sorry, alert=True)
    return None


async def send_reply(services: Services, bot: Bot, message: Message, reply: Handoff) -> None:
    """The message a staff member typed after Reply: to the client, once, if it comes within
    STAFF_REPLY_TIMEOUT (later, it is not sent and they are told: reply mode ends)."""
    assert message.from_user is not None
    staff_id = message.from_user.id
    if reply_too_late(reply.created_at, services.clock()):
        client = await services.db.run(lambda s: inbox.end_reply(s, staff_id, reply.id))
        if client is not None:
            name = client.first_name
            await message.reply_text(
                render("staff/inbox_reply_expired", name=name, minutes=REPLY_MINUTES)
            )
        return
    if message.text is None:
        client = await services.db.run(lambda s: s.get(Client, reply.client_id))
        name = client.first_name if client else ""
        await message.reply_text(render("staff/inbox_reply_text_only", name=name))
        return
    client = await services.db.run(lambda s: inbox.end_reply(s, staff_id, reply.id))
    if client is not None and await deliver_staff_reply(services, bot, message, client):
        await _copy_to_group(services, bot, message, client)


async def _copy_to_group(services: Services, bot: Bot, message: Message, client: Client) -> None:
    """Colleagues see a reply sent from /inbox in the staff group, under the client's request
    post, as they see one made there (it is the team's note: a reply to it stays in the team).
    The client has it already: a group that refuses the copy costs a line in the log."""
    sender, client_id = message.from_user, client.id
    assert sender is not None and client_id is not None
    request = await services.db.run(lambda s: inbox.request_post(s, client_id))
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
    await post_note(bot, services, request, text, quiet=True)


async def cancel_reply(services: Services, staff_id: int) -> str | None:
    """/cancel from a staff member writing a reply: nothing is sent. The client's name, or
    None if they were not writing one."""
    client = await services.db.run(lambda s: inbox.end_reply(s, staff_id))
    return client.first_name if client is not None else None


async def tell_reply_gone(bot: Bot, staff_ids: list[int], name: str) -> None:
    """Staff writing a reply to a client who has just erased their data: it can't go."""
    for staff_id in staff_ids:
        try:
            await bot.send_message(staff_id, render("staff/inbox_reply_gone", name=name))
        except TelegramError:
            log.warning("could not tell a staff member their reply can't be sent")


@dataclass
class AlertRetry:
    """An alert that could not be posted (kept per replica in `Services.alert_retries`)."""

    failures: int
    next_try: datetime


async def send_due_alerts(services: Services, bot: Bot) -> int:
    """Post the alert for each request that has waited longer than HANDOFF_ALERT_MINUTES of
    opening hours with nobody taking or answering it: once per request, whichever replica
    claims it first. A post that fails is tried again later, backing off (ALERT_RETRY_FIRST,
    doubling up to ALERT_RETRY_MAX) and logged in full only the first time, so a staff chat
    the bot can't post to is not a traceback a minute. Returns how many went."""
    settings, retries = services.settings, services.alert_retries
    now = services.clock()
    hours, minutes = services.clinic.opening_hours, settings.handoff_alert_minutes
    due = await services.db.run(lambda s: inbox.due_alerts(s, now, hours, minutes))
    sent = 0
    for request_id in due:
        retry = retries.get(request_id)
        if retry is not None and now < retry.next_try:
            continue
        found = await services.db.run(partial(inbox.claim_alert, request_id=request_id, now=now))
        if found is None:
            continue  # taken, closed or alerted meanwhile
        waited = hours.open_time_between(found.since, now).total_seconds() // 60
        text = render("staff/inbox_alert", name=found.client.first_name, minutes=int(waited))
        if await post_note(bot, services, found.request, text, quiet=retry is not None):
            retries.pop(request_id, None)
            sent += 1
            continue
        await services.db.run(partial(inbox.unclaim_alert, request_id=request_id))
        failures = retry.failures + 1 if retry else 1
        wait = min(ALERT_RETRY_FIRST * 2 ** (failures - 1), ALERT_RETRY_MAX)
        retries[request_id] = AlertRetry(failures, now + wait)
    return sent
