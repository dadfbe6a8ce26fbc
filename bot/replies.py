"""Engine replies -> Telegram messages: inline keyboards, edits in place, sends in order."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest

from dialogs.engine import Keyboard, Reply

log = logging.getLogger(__name__)


def markup(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.text, url=b.url)
                if b.url
                else InlineKeyboardButton(b.text, callback_data=b.data)
                for b in row
            ]
            for row in buttons
        ]
    )


async def deliver(
    bot: Bot, chat_id: int, replies: Iterable[Reply], *, pressed: Message | None = None
) -> None:
    """Send the replies in order. A reply marked `replace` edits the message whose button was
    pressed; if that message can no longer be edited, the reply is sent as a new message."""
    for reply in replies:
        keyboard = markup(reply.buttons)
        if reply.replace and pressed is not None:
            try:
                await pressed.edit_text(reply.text, reply_markup=keyboard)
                continue
            except BadRequest as exc:
                if "not modified" in exc.message:
                    continue
                log.info("could not edit message %s (%s); sending anew", pressed.message_id, exc)
        await bot.send_message(chat_id, reply.text, reply_markup=keyboard)
