"""A token bucket: how the emulator models Telegram's flood control (the bot's own send budget
is a different model, GCRA in bot/send_budget.py, so the two can disagree and a test can see it)."""

from __future__ import annotations

import time


class TokenBucket:
    """`rate` tokens per second, holding at most `burst`. Starts full."""

    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: float, now: float | None = None) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = time.monotonic() if now is None else now

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait_time(self, now: float, need: float = 1.0) -> float:
        """Seconds until `need` tokens are there (0 if they are now)."""
        self.refill(now)
        return 0.0 if self.tokens >= need else (need - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.refill(now)
        self.tokens -= 1
