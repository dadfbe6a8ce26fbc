"""Concurrent updates, in order per chat.

PTB either handles updates one at a time or all concurrently. One at a time makes 200 clients
wait for each other; fully concurrent lets one person's quick double-tap race itself. This
processor runs different chats concurrently and each chat's updates strictly in order
(hand-written: PTB offers no per-chat ordering).

A chat's updates wait for their turn *before* taking one of the shared slots, so a client who
floods the bot with stickers queues behind themselves only, never in front of everyone else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot import metrics
from storage import statements

# PTB's own limit (a semaphore taken before `do_process_update`) is set out of reach; the
# real one is `slots`, taken once it is the chat's turn.
_UNLIMITED = 1_000_000


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, slots: int = 256) -> None:
        super().__init__(_UNLIMITED)
        self._slots = asyncio.BoundedSemaphore(slots)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    def backlog(self, chat_id: int) -> int:
        """Updates of this chat being handled or waiting (0 when idle)."""
        return self._waiting.get(chat_id, 0)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        metrics.UPDATES.labels(_kind(update)).inc()
        key = _chat_key(update)
        if key is None:
            async with self._slots:
                with statements.for_update(None):  # counted for the benchmarks, if asked
                    await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._slots:
                with statements.for_update(key):
                    await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def _kind(update: object) -> str:
    """Which field of the update is set: message, callback_query, edited_message, ..."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user else None
