"""Hand-off to a person at the clinic: the Telegram side (`bot.cases.handoff` decides).

`/human` or the "talk to a therapist" button first asks the client, saying what would be
shared; the request is stored with the screening that text described, and "yes" posts exactly
that to the staff chat, once. Staff answer by replying to the post; the reply reaches the
client in the bot. For a week after, what the client writes is passed on the same way.
"""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.cases import handoff
from bot.cases.conversation import safety_of
from bot.cases.handoff import RELAY_MERGE, RelayBurst
from bot.handlers.common import backlog, chat_id, telegram_user
from bot.replies import edit_pressed, markup
from bot.services import BotContext
from dialogs.emergency import Findings
from dialogs.events import TalkToStaff
from dialogs.presses import CloseConversation, DeclineRequest, ShareRequest, ShowDetails
from dialogs.render import labels, render
from storage.models import Client, Handoff


async def ask_hand_off(update: Update, context: BotContext, words: str = "") -> None:
    """/human (with any words after it, which go to the team with the request): ask before
    anything is shared."""
    message = update.effective_message
    assert message is not None
    reply = await handoff.ask(context.services, telegram_user(update).id, words)
    await message.reply_text(reply.text, reply_markup=markup(reply.buttons))


async def on_talk_to_staff(update: Update, context: BotContext, _: TalkToStaff) -> None:
    """ "Talk to a therapist": the confirmation, as /human asks it."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    reply = await handoff.ask(context.services, telegram_user(update).id)
    await context.bot.send_message(chat_id(update), reply.text, reply_markup=markup(reply.buttons))


async def on_request_answer(
    update: Update, context: BotContext, press: ShareRequest | DeclineRequest
) -> None:
    """Yes (share this very request) or not now, under the confirmation."""
    query = update.callback_query
    assert query is not None
    services, share = context.services, isinstance(press, ShareRequest)
    answered = await handoff.answer_request(
        services, telegram_user(update).id, press.request, share=share
    )
    if answered is None:
        await query.answer(labels.stale)
        return
    await query.answer()
    if not share:
        await edit_pressed(query, render("handoff_declined"))
        return
    reply = await handoff.share_request(services, context.bot, answered)
    await edit_pressed(query, reply.text, markup(reply.buttons))


async def relay_to_staff(
    update: Update,
    context: BotContext,
    client: Client,
    request: Handoff,
    found: Findings | None = None,
    *,
    confirm: bool = True,
) -> None:
    """Pass a client's message on to the staff chat while a hand-off is open (a week after
    it). `found`: crisis words or a red flag in it, marked at the post's top. `confirm`: tell
    the client it was passed on (not for the words an alert to the team was made of: the
    crisis answer has just said so)."""
    services = context.services
    message = update.message
    assert message is not None, "only new messages are for the team (dialogs.awaiting)"
    text = message.text or message.caption
    if services.settings.staff_chat_id is None:  # the setting was removed since the hand-off
        said = handoff.unavailable(services, safety_of(client, services))
        await message.reply_text(said.text, reply_markup=markup(said.buttons))
        return
    burst: RelayBurst | None = services.relay_bursts.get(message.chat_id)
    if text is None and burst is not None:  # said with the words it follows: "the text only"
        burst.text_only = True
        return
    if text is None:
        if backlog(context, update) <= 1:  # a burst of stickers: one answer, after the last
            await message.reply_text(render("relay_text_only"))
        return
    # What the client writes within a few seconds is merged into one post (the throttle caps
    # how much a minute can hold); an emergency anywhere in it marks the whole post.
    if burst is None:
        burst = services.relay_bursts[message.chat_id] = RelayBurst(client, request)
        context.application.create_task(_post_later(context, message.chat_id))
    burst.parts.append(text)
    flags = (found.crisis, found.symptom) if found else ()
    burst.flags += [flag for flag in flags if flag is not None and flag not in burst.flags]
    burst.text_only = burst.text_only or message.text is None
    burst.confirm = burst.confirm or confirm


async def _post_later(context: BotContext, chat: int) -> None:
    """The burst goes RELAY_MERGE seconds after its first message."""
    await asyncio.sleep(RELAY_MERGE.total_seconds())
    await handoff.post_burst(context.services, context.bot, chat)


async def on_details(update: Update, context: BotContext, press: ShowDetails) -> None:
    """The health details a client agreed to share, shown to staff on demand as a reply that
    the bot removes after a day."""
    query = update.callback_query
    assert query is not None and query.message is not None
    found = await handoff.details(context.services, press.request)
    if found is None:
        await query.answer(labels.stale)
        return
    await query.answer(labels.handoff_details_shown)
    client_id, summary = found
    post = (query.message.chat.id, query.message.message_id)
    await handoff.show_details(context.services, context.bot, client_id, summary, post)


async def on_close(update: Update, context: BotContext, press: CloseConversation) -> None:
    """A staff member closes the conversation; the client is told how to open a new one."""
    query = update.callback_query
    assert query is not None
    name = query.from_user.first_name
    closed = await handoff.close_request(context.services, context.bot, press.request, name)
    await query.answer(labels.handoff_closed if closed else labels.stale)


async def on_staff_reply(update: Update, context: BotContext) -> None:
    """A reply in the staff chat to a client's request or to their words passed on goes to
    that client. A reply to another of the bot's posts about them (a note, a receipt, the
    health details) stays in the team, and the staff member is told so; so does any reply
    that starts with "note:". Replies to each other are the team's own conversation."""
    message = update.message
    assert message is not None and message.reply_to_message is not None
    replied = message.reply_to_message
    if replied.from_user is None or replied.from_user.id != context.bot.id:
        return  # colleagues talking among themselves
    sender = message.from_user
    if (
        message.sender_chat is not None
        or sender is None
        or not context.services.is_staff(sender.id)
    ):
        # Only STAFF_IDS speak for the clinic: not any group member, not an anonymous admin.
        await message.reply_text(render("staff_only"))
        return
    post = (message.chat_id, replied.message_id)
    await handoff.reply_in_group(context.services, context.bot, message, post)
