"""Engine replies -> Telegram messages: inline keyboards, edits in place, sends in order."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram.error import BadRequest

from dialogs.replies import Keyboard, Reply

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
        if reply.replace and pressed is not None and await _edit(pressed, reply.text, keyboard):
            continue
        await _call(bot, "sendMessage", chat_id=chat_id, text=reply.text, reply_markup=keyboard)


async def edit_pressed(
    query: CallbackQuery, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the message whose button was pressed (or send the text anew, as `deliver`)."""
    message = query.message
    if message is not None and message.is_accessible and await _edit(message, text, reply_markup):  # type: ignore[arg-type]
        return
    await query.get_bot().send_message(query.from_user.id, text, reply_markup=reply_markup)


async def _edit(message: Message, text: str, keyboard: InlineKeyboardMarkup | None) -> bool:
    """Edit a message; True if it now shows this (a repeated tap that changes nothing is
    fine), False if it can no longer be edited."""
    try:
        await _call(
            message.get_bot(),
            "editMessageText",
            chat_id=message.chat_id,
            message_id=message.message_id,
            text=text,
            reply_markup=keyboard,
        )
    except BadRequest as exc:
        if "not modified" in exc.message:
            return True
        log.info("could not edit message %s (%s); sending anew", message.message_id, exc)
        return False
    return True


async def _call(bot: Bot, method: str, **params: object) -> None:
    """`bot.send_message` or `bot.edit_message_text` without reading Telegram's answer.

    PTB's methods turn the answer (the whole message again, keyboard and all) into objects:
    about a tenth of a button press's CPU (bench/screening.py), for a result these replies
    never use. `_post` is what those methods call: PTB still fills in the bot's Defaults
    (parse mode, link previews: the DEFAULT_NONE markers, as its methods pass them), drops
    empty parameters, goes through the rate limiter and raises the same errors. Both names
    are PTB's own internals, so PTB is pinned below 23 (pyproject.toml) and every
    end-to-end test sends through here."""
    params.update(parse_mode=DEFAULT_NONE, link_preview_options=DEFAULT_NONE)
    await bot._post(method, params)
