"""Telegram's flood control, as the emulator enforces it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from bot.tokenbucket import TokenBucket


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

    def check(self, chat_id: int | None, *, new_message: bool) -> int:
        """0 if allowed (and counted), else the whole seconds to wait. New messages count
        against the chat's limit too; edits only against the overall one."""
        if not self.limits.enabled:
            return 0
        now = time.monotonic()
        waits = [self._overall.wait_time(now)]
        chat = None
        if new_message and chat_id is not None:
            chat = self._chats.get(chat_id)
            if chat is None:
                rate, burst = (
                    (self.limits.group_rate, self.limits.group_burst)
                    if chat_id < 0
                    else (self.limits.chat_rate, self.limits.chat_burst)
                )
                chat = self._chats[chat_id] = TokenBucket(rate, burst, now)
            waits.append(chat.wait_time(now))
        wait = max(waits)
        if wait > 0:
            return max(1, math.ceil(wait))
        self._overall.take(now)
        if chat is not None:
            chat.take(now)
        return 0
