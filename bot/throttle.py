"""Per-client fairness: how many typed messages (text, media, commands, edits) a chat may have
answered. One person flooding the bot must not eat the send budget that reminders, tips and
everyone else's replies share.

A token bucket per private chat: `burst` messages at once, refilled at `per_minute`. Past it,
the first message gets one "slow down" note and the rest are dropped unanswered; while the
flood goes on, one message is answered as each token comes back, and only a chat that has
calmed down completely gets a note again. An emergency in the client's words still gets
through, once a minute. Hand-written because the libraries at hand (aiolimiter, PTB's
AIORateLimiter) make a caller *wait* for a slot; this must decide at once, per chat, and
forget idle chats so memory stays flat.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

EMERGENCY_EVERY = 60.0  # seconds: a throttled chat's emergency is still answered this often


class Verdict(StrEnum):
    ALLOW = "allow"
    WARN = "warn"  # the first one over the limit: one "slow down" note
    DROP = "drop"  # the rest, until the bucket refills


@dataclass
class _Bucket:
    tokens: float
    at: float
    warned: bool = False
    emergency_at: float = float("-inf")


class ChatThrottle:
    # Someone trying every command in the menu sends 15-20 in a minute: that is not a flood.
    # One person at 20 a minute stays far inside the 30 messages a second all chats share.
    def __init__(self, per_minute: float = 20.0, burst: int = 20) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[int, _Bucket] = {}
        self._sweep_at = 1024

    def check(self, chat_id: int, now: float, *, emergency: bool = False) -> Verdict:
        """Count one message from this chat at `now` (seconds, monotonic)."""
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            bucket = self._buckets[chat_id] = _Bucket(self.burst, now)
            self._sweep(now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= self.burst:  # calm again: a new flood gets a new note
            bucket.warned = False
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict.ALLOW
        if emergency and now - bucket.emergency_at >= EMERGENCY_EVERY:
            bucket.emergency_at = now
            return Verdict.ALLOW
        if not bucket.warned:
            bucket.warned = True
            return Verdict.WARN
        return Verdict.DROP

    def __len__(self) -> int:
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        """Forget chats whose bucket has refilled (they are as good as new)."""
        if len(self._buckets) < self._sweep_at:
            return
        full = [
            chat
            for chat, b in self._buckets.items()
            if b.tokens + (now - b.at) * self.rate >= self.burst
        ]
        for chat in full:
            del self._buckets[chat]
        self._sweep_at = max(1024, 2 * len(self._buckets))
