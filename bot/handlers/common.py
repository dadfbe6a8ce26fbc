"""Small helpers shared by the handlers."""

from __future__ import annotations

import re

from telegram import Message, Update

from bot.processor import PerChatUpdateProcessor
from bot.services import BotContext
from storage.repo import TelegramUser

_SOURCE_RE = re.compile(r"[^A-Za-z0-9_-]")


def telegram_user(update: Update) -> TelegramUser:
    user = update.effective_user
    assert user is not None, "private-chat handlers always have a user"
    return TelegramUser(id=user.id, first_name=user.first_name or "", username=user.username)


def message_of(update: Update) -> Message:
    """The message a command or a text came in (handlers registered for messages have one)."""
    assert update.effective_message is not None
    return update.effective_message


def chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def backlog(context: BotContext, update: Update) -> int:
    """How many of this chat's updates are being handled or waiting (1: just this one)."""
    processor = context.application.update_processor
    if isinstance(processor, PerChatUpdateProcessor):
        return processor.backlog(chat_id(update))
    return 1


def clean_source(payload: str | None) -> str | None:
    """A deep-link payload as a short, safe source tag (Telegram allows A-Z a-z 0-9 _ -)."""
    if not payload:
        return None
    return _SOURCE_RE.sub("", payload)[:64] or None
