"""A send budget that stays within Telegram's limits however late a request arrives there.

Telegram counts a message when it arrives, not when the bot let it go. A plain token bucket
on the bot's side is therefore not enough: requests granted a second apart can wait in the
connection pool or the network and arrive together, and Telegram answers 429 although the
bot kept to the rate. This budget counts each request over its whole flight, from the grant
until its answer came back: at every grant, for every earlier answer time `c`, the requests
still in flight plus those answered since `c` (the new one included) must fit in
`burst + rate * (now - c)`. Any arrivals that lie within those flights then keep to
(rate, burst), whatever the delays.

That condition folds into one number, as in the generic cell rate algorithm (GCRA): `_tat`,
which each answer moves to `max(_tat, answered_at) + 1/rate`. Hand-written because the rate
limiters on PyPI count grants only.
"""

from __future__ import annotations


class SendBudget:
    """`rate` sends per second with bursts of `burst`, counted over each request's flight."""

    __slots__ = ("_tat", "burst", "in_flight", "rate")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.in_flight = 0
        self._tat = float("-inf")

    def wait_time(self, now: float, need: float = 1.0) -> float:
        """Seconds to wait before a send that takes `need` of the burst may go (0: now).
        While the flights alone fill the burst it names a short poll: only answers free it."""
        room = self.burst - self.in_flight - need
        if room < 0:
            return 1.0 / self.rate
        return max(0.0, self._tat - room / self.rate - now)

    def start(self) -> None:
        """A send was granted: it counts until `finish`."""
        self.in_flight += 1

    def finish(self, now: float) -> None:
        """Its answer came back (or it failed): from now on it fades at `rate`."""
        self.in_flight -= 1
        self._tat = max(self._tat, now) + 1.0 / self.rate

    def release(self) -> None:
        """It never left (no connection, or its row was gone): it counts for nothing."""
        self.in_flight -= 1

    def whole_in(self, now: float) -> float:
        """Seconds until what was sent has faded from Telegram's count (0: it has)."""
        return max(0.0, self._tat - now) if self.in_flight == 0 else 1.0 / self.rate

    def idle(self, now: float) -> bool:
        """Nothing in flight and the whole burst free again: the budget can be forgotten."""
        return self.in_flight == 0 and self._tat <= now
