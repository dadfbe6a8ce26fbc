"""The bot's posts about a client in the staff group: recorded as they are made (notes under
a request are posted here too), removed when the client is erased.

Telegram lets a bot delete its own messages for 48 hours only. Health details are shown on
demand and removed after DETAILS_SHOWN, well inside that; the rest (who asked, what the client
wrote to the team) may be older when the client is erased, and then the bot replies to each
such post asking the clinic to delete it, naming no one.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from telegram import Bot
from telegram.error import TelegramError

from dialogs.render import render
from dialogs.statuses import PostKind
from storage import repo
from storage.models import Handoff

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
DETAILS_SHOWN = timedelta(hours=24)

Post = tuple[int, int]  # (chat id, message id)


async def remove_posts(bot: Bot, posts: list[Post]) -> list[Post]:
    """Delete what Telegram still lets the bot delete; ask staff to delete the rest.
    Returns the posts that could not be removed."""
    kept = []
    for chat, message_id in posts:
        try:
            await bot.delete_message(chat, message_id)
        except TelegramError:
            kept.append((chat, message_id))
    for chat, message_id in kept:
        with contextlib.suppress(TelegramError):  # the post may be gone already
            await bot.send_message(
                chat, render("staff_please_delete"), reply_to_message_id=message_id
            )
    if kept:
        log.info("asked staff to delete %d posts the bot can no longer remove", len(kept))
    return kept


async def post_note(
    bot: Bot, services: Services, request: Handoff, text: str, *, quiet: bool = False
) -> bool:
    """A note in the staff chat under the request's post (a reply to it reaches the client,
    and it goes when the client's data is erased). False if it could not be posted (logged
    with its traceback, or in one line if `quiet`: an alert tried again, a reply's copy)."""
    chat = request.staff_chat_id or services.settings.staff_chat_id
    if chat is None:
        return False
    try:
        note = await bot.send_message(
            chat,
            text,
            reply_to_message_id=request.staff_message_id,
            allow_sending_without_reply=True,
        )
    except TelegramError as error:
        if quiet:
            log.warning("could not post a note to the staff chat: %s", error)
        else:
            log.exception("could not post a note to the staff chat")
        return False
    return await keep_post(
        bot, services, request.client_id, (note.chat_id, note.message_id), PostKind.NOTE
    )


async def keep_post(
    bot: Bot,
    services: Services,
    client_id: int,
    post: Post,
    kind: str,
    at: datetime | None = None,
) -> bool:
    """Record a post just made about a client (`repo.record_relay`), so it is found again and
    removed with their data. A client who erased their data while it was on its way: the post
    goes at once (it is seconds old) and False is returned."""
    if await services.db.run(lambda s: repo.record_relay(s, client_id, post, kind, at)):
        return True
    await remove_posts(bot, [post])
    return False
