"""Engine replies -> Telegram messages: inline keyboards, edits in place, sends in order."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, MaybeInaccessibleMessage, Message
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram.error import BadRequest

from dialogs.render import render
from dialogs.replies import Button, Keyboard, Reply

log = logging.getLogger(__name__)


KeyboardJson = dict[str, list[list[dict[str, str]]]]


def keyboard_json(buttons: Keyboard) -> KeyboardJson | None:
    """An inline keyboard as the Bot API's JSON. The replies to a client go out as this: PTB
    would build an object per button only to turn it back into this (about 5% of a button
    press's CPU, bench/screening.py)."""
    if not buttons:
        return None
    return {"inline_keyboard": [[_button_json(b) for b in row] for row in buttons]}


def _button_json(button: Button) -> dict[str, str]:
    if button.url is not None:
        return {"text": button.text, "url": button.url}
    data = button.data
    assert data is not None, "a button is a press or a URL (dialogs.replies.Button)"
    return {"text": button.text, "callback_data": data}


def markup(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    """The same keyboard as PTB's object, for PTB's own methods."""
    keyboard = keyboard_json(buttons)
    return None if keyboard is None else InlineKeyboardMarkup.de_json(keyboard)


@dataclass(frozen=True)
class Delivered:
    """Which messages now carry the `live` reply (the question) and a `booking` one."""

    live: int | None = None
    booking: int | None = None


async def deliver(
    bot: Bot, chat_id: int, replies: Iterable[Reply], *, pressed: Message | None = None
) -> Delivered:
    """Send the replies in order. A reply marked `replace` edits the message whose button was
    pressed; if that message can no longer be edited, the reply is sent as a new message."""
    live = booking = None
    for reply in replies:
        keyboard = keyboard_json(reply.buttons)
        if reply.replace and pressed is not None and await _edit(pressed, reply.text, keyboard):
            message_id: int | None = pressed.message_id
        else:
            sent = await _call(
                bot, "sendMessage", chat_id=chat_id, text=reply.text, reply_markup=keyboard
            )
            message_id = int(sent["message_id"]) if isinstance(sent, dict) else None
        live = message_id if reply.live else live
        booking = message_id if reply.booking else booking
    return Delivered(live, booking)


async def unbook(bot: Bot, chat_id: int, edits: Iterable[tuple[int, str]]) -> None:
    """Earlier results as they read once a red-flag hold started: no booking buttons, no
    suggestions. A message Telegram no longer lets the bot edit is only logged."""
    for message_id, text in edits:
        try:
            await _call(bot, "editMessageText", chat_id=chat_id, message_id=message_id, text=text)
        except BadRequest as exc:
            log.info("could not take the booking off message %s (%s)", message_id, exc)


async def retire_question(bot: Bot, chat_id: int, message_id: int, *, moved: bool) -> None:
    """An older copy of the question loses its buttons: `moved`, it now says the question is
    asked again below; otherwise (the self-check ended another way) it keeps its text. An edit
    Telegram refuses (the message is gone, or already so) changes nothing and is only logged."""
    try:
        if moved:
            text = render("question_moved")
            await _call(bot, "editMessageText", chat_id=chat_id, message_id=message_id, text=text)
        else:
            await _call(bot, "editMessageReplyMarkup", chat_id=chat_id, message_id=message_id)
    except BadRequest as exc:
        log.info("could not retire an older copy of a question (%s)", exc)


def accessible(message: MaybeInaccessibleMessage | None) -> Message | None:
    """The pressed message, if Telegram still says what it was. Older than 48 hours, it comes
    as an empty message dated 0 (PTB makes that a `Message` too, so a type check is not
    enough): nothing on it can be read or edited."""
    return message if isinstance(message, Message) and message.is_accessible else None


async def edit_pressed(
    query: CallbackQuery, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the message whose button was pressed (or send the text anew, as `deliver`)."""
    message = accessible(query.message)
    if message is not None and await _edit(message, text, reply_markup):
        return
    await query.get_bot().send_message(query.from_user.id, text, reply_markup=reply_markup)


async def _edit(
    message: Message, text: str, keyboard: InlineKeyboardMarkup | KeyboardJson | None
) -> bool:
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
        log.info("could not edit a message (%s); sending anew", exc)
        return False
    return True


async def _call(bot: Bot, method: str, **params: object) -> object:
    """`bot.send_message` or `bot.edit_message_text` without turning Telegram's answer into
    objects: it comes back as plain JSON (a sent message's id is all `deliver` reads).

    PTB's methods turn the answer (the whole message again, keyboard and all) into objects:
    about a tenth of a button press's CPU (bench/screening.py), for a result these replies
    never use. `_post` is what those methods call: PTB still fills in the bot's Defaults
    (parse mode, link previews: the DEFAULT_NONE markers, as its methods pass them), drops
    empty parameters, goes through the rate limiter and raises the same errors. Both names
    are PTB's own internals, so PTB is pinned below 23 (pyproject.toml) and every
    end-to-end test sends through here."""
    if method != "editMessageReplyMarkup":
        params.update(parse_mode=DEFAULT_NONE, link_preview_options=DEFAULT_NONE)
    return await bot._post(method, params)
