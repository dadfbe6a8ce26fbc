"""Telegram's flood control, as the emulator enforces it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from bot.sandbox.tokenbucket import TokenBucket


@dataclass
class FloodLimits:
    """Telegram's limits as the emulator enforces them (configurable; `enabled=False` for
    throughput runs). Overall 30/s; about 1/s in a private chat with short bursts; 20/min in
    a group."""

    enabled: bool = True
    overall_rate: float = 30.0
    overall_burst: float = 30.0
    chat_rate: float = 1.0
    chat_burst: float = 5.0
    group_rate: float = 20.0 / 60.0
    group_burst: float = 20.0


class FloodControl:
    """Decides whether a send may go now; if not, the `retry_after` seconds Telegram names."""

    def __init__(self, limits: FloodLimits) -> None:
        self.limits = limits
        self._overall = TokenBucket(limits.overall_rate, limits.overall_burst)
        self._chats: dict[int, TokenBucket] = {}

    def check(self, chat_id: int) -> int:
        """0 if a new message to this chat may go now (and is counted), else the whole seconds
        to wait. Edits of messages already sent are not counted."""
        if not self.limits.enabled:
            return 0
        now = time.monotonic()
        chat = self._chats.get(chat_id)
        if chat is None:
            rate, burst = (
                (self.limits.group_rate, self.limits.group_burst)
                if chat_id < 0
                else (self.limits.chat_rate, self.limits.chat_burst)
            )
            chat = self._chats[chat_id] = TokenBucket(rate, burst, now)
        wait = max(self._overall.wait_time(now), chat.wait_time(now))
        if wait > 0:
            return max(1, math.ceil(wait))
        self._overall.take(now)
        chat.take(now)
        return 0
