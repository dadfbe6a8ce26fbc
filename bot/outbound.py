"""Everything the bot sends goes through one governor (PTB's rate-limiter hook).

Two lanes share Telegram's overall budget (SEND_RATE new messages per second; edits of a
message already sent, such as a question replaced by the next, do not count):
- "interactive" (the default): replies to a person's action; always served first, and
  among those a chat that has had many messages in the last minutes (someone flooding the
  bot) waits until the others' replies have gone;
- "bulk" (`rate_limit_args="bulk"` or a `SlotClaim`, for sends nobody is waiting on: the
  reminders and tips): only takes a send when no reply is waiting and a reserve of the
  budget is left, so people chatting stay fast. A `SlotClaim` claims its row only once the
  slot is granted.
New messages to one chat also keep to about one per second after a short burst. A 429 is
waited out and the request tried again: on an edit, only that chat's edits pause; if the chat
had just used its own budget, only that chat pauses; otherwise (the overall limit) all
sending does. A request that never left (no connection to the Bot API) pauses all sending,
longer while the outage lasts; a claimed row is handed back to be sent later, anything else
is tried again a few times. A 403 tells `on_blocked`.

Hand-written because PTB's AIORateLimiter has one queue: a broadcast would make every
chatting client wait behind it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import Forbidden, RetryAfter
from telegram.ext import BaseRateLimiter

from bot import metrics
from bot.botapi import SEND_METHODS, NotSent
from bot.send_budget import SendBudget

log = logging.getLogger(__name__)

INTERACTIVE = "interactive"
BULK = "bulk"
BlockedHook = Callable[[int], Awaitable[None]]
OUTAGE_PAUSE, OUTAGE_PAUSE_MAX = 1.0, 15.0  # seconds of waiting while the Bot API is unreachable
MIN_SHARE = 0.2  # of the budget, that a replica keeps whatever the others send
UNREACHABLE_RETRIES = 2  # for a request with no row to hand back: about 3 s, then it fails
_LEVELS = ("reply", "busy_chat_reply", "bulk")  # the governor's waiting levels, by name
LOAD_FADE = 10.0  # seconds for one message to a chat to stop counting towards its load
BUSY_LOAD = 5  # a chat whose load is above this gets its replies after everyone else's


class NotClaimed(Exception):
    """The send was not made: its row had been taken or changed by the time its slot came."""


@dataclass(frozen=True)
class SlotClaim:
    """`rate_limit_args` for a bulk send whose row (a tip delivery, a reminder prompt) is
    claimed only once its send slot is granted, so that after a crash "in flight" means
    really in flight. `take` returns False if the row is no longer there to send."""

    take: Callable[[], Awaitable[bool]]


class Governor(BaseRateLimiter[str | SlotClaim]):
    """Lanes, the overall budget, per-chat pacing, 429 back-off and 403 reporting."""

    def __init__(
        self,
        rate: float = 30.0,
        *,
        chat_rate: float = 1.0,
        chat_burst: float = 5.0,
        bulk_reserve: float = 0.2,
        max_retries: int = 5,
    ) -> None:
        self.rate = rate
        # Each budget counts a request over its whole flight (see `SendBudget`), so late
        # arrivals cannot bunch up at Telegram; keeping a little under its figures (2% of the
        # rate, one message of each burst) allows for Telegram's own clock and rounding.
        burst = max(1.0, rate * 0.9)
        self._overall = SendBudget(rate * 0.98, burst)
        self._burst = burst
        self._bulk_reserve = bulk_reserve
        self._chat_rate = chat_rate * 0.98
        self._chat_burst = max(1.0, chat_burst - 1)
        self._chats: dict[int, SendBudget] = {}
        self._waiting = [0, 0, 0]  # by level: replies, replies to busy chats, bulk
        self._chat_load: dict[int, float] = {}  # when each chat's recent sends will have faded
        self._paused_until = 0.0
        self._chat_paused_until: dict[tuple[str, int], float] = {}
        self._recent: dict[int, tuple[float, float]] = {}
        self._outage = 0.0  # the current pause while the Bot API is unreachable, 0 if it is not
        self._max_retries = max_retries
        self.on_blocked: BlockedHook | None = None
        self.retries = 0  # 429s met, for the benchmarks
        self.replies_sent = 0  # new messages granted to the reply lanes (for `share`)

    async def initialize(self) -> None:
        """Nothing to set up."""

    def faded_in(self) -> float:
        """Seconds until Telegram's count of this process's recent sends has faded, overall
        and in every chat. A process started after that begins with the whole budget, as this
        one did: one started sooner would not know and could meet a 429."""
        now = time.monotonic()
        budgets = (self._overall, *self._chats.values())
        return max(b.whole_in(now) for b in budgets)

    async def shutdown(self) -> None:
        """Nothing to free."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | SlotClaim | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        claim = rate_limit_args if isinstance(rate_limit_args, SlotClaim) else None
        lane = BULK if rate_limit_args == BULK or claim is not None else INTERACTIVE
        chat_id = _chat_id(data)
        edit = endpoint.startswith("edit")
        limited, unreachable, claimed = 0, 0, False
        while True:
            await self._wait_pause(chat_id, edit)
            budgets = await self._acquire(lane, chat_id) if endpoint in SEND_METHODS else ()
            if claim is not None:
                try:
                    taken = await claim.take()
                except BaseException:
                    _release(budgets)
                    raise
                if not taken:
                    _release(budgets)
                    raise NotClaimed
                claim, claimed = None, True  # a retry after a 429 keeps the claim
            self._note_chat(chat_id)
            answered = True
            try:
                result = await callback(*args, **kwargs)
                self._reachable()
                if budgets:
                    metrics.SENDS.labels(lane, "sent").inc()
                return result
            except RetryAfter as exc:
                limited += 1
                self.retries += 1
                scope = self._pause(chat_id, edit, _seconds(exc.retry_after))
                metrics.LIMITED.labels(scope).inc()
                log.warning("Telegram asked to slow down (%s, %s limit)", endpoint, scope)
                if limited > self._max_retries:
                    raise
            except NotSent:
                metrics.SENDS.labels(lane, "not_sent").inc()
                answered = False  # it never left: it counts against no budget
                unreachable += 1
                self._unreachable()
                if claimed or unreachable > UNREACHABLE_RETRIES:
                    raise  # a claimed row goes back to be sent later; a reply is given up
            except Forbidden:
                metrics.SENDS.labels(lane, "blocked").inc()
                if chat_id is not None and chat_id > 0 and self.on_blocked is not None:
                    await self.on_blocked(chat_id)
                raise
            finally:
                if answered:
                    _finish(budgets)
                else:
                    _release(budgets)

    def share(self, others: float) -> None:
        """Other replicas of this bot are replying at `others` messages a second: leave that
        much of Telegram's budget (one per token: rate and burst alike) to them, keeping at
        least a fifth."""
        fraction = max(MIN_SHARE, 1.0 - others / self.rate)
        self._overall.rate = self.rate * 0.98 * fraction
        self._overall.burst = max(1.0, self._burst * fraction)

    def _unreachable(self) -> None:
        """No connection to the Bot API: everyone waits, a little longer each time a try
        after the pause fails too (requests that failed together count once)."""
        now = time.monotonic()
        if now < self._paused_until:
            return
        if not self._outage:
            log.warning("the Bot API is unreachable: sending waits until it answers again")
        self._outage = min(OUTAGE_PAUSE_MAX, max(OUTAGE_PAUSE, self._outage * 2))
        self._paused_until = now + self._outage

    def _reachable(self) -> None:
        if self._outage:
            log.info("the Bot API answers again")
            self._outage = 0.0

    def _note_chat(self, chat_id: int | None) -> None:
        """Remember when each chat last had a request (and when the one before that was)."""
        if chat_id is None:
            return
        now = time.monotonic()
        if len(self._recent) > 10_000:  # forget chats quiet for a while
            self._recent = {k: v for k, v in self._recent.items() if now - v[1] < 60}
            self._chat_paused_until = {k: v for k, v in self._chat_paused_until.items() if v > now}
            self._chat_load = {k: v for k, v in self._chat_load.items() if v > now}
        self._recent[chat_id] = (self._recent.get(chat_id, (0.0, 0.0))[1], now)

    def _pause(self, chat_id: int | None, edit: bool, seconds: float) -> str:
        """A 429 on an edit holds that chat's edits; on a new message, that chat's sends if it
        had another one just before (its own limit), else everyone's (the overall limit)."""
        until = time.monotonic() + seconds
        previous = self._recent.get(chat_id, (0.0, 0.0))[0] if chat_id is not None else 0.0
        if chat_id is not None and edit:
            self._chat_paused_until[("edit", chat_id)] = until
            return "edit"
        if chat_id is not None and time.monotonic() - previous < 2.0:
            self._chat_paused_until[("send", chat_id)] = until
            return "chat"
        self._paused_until = max(self._paused_until, until)
        return "overall"

    async def _wait_pause(self, chat_id: int | None, edit: bool) -> None:
        key = ("edit" if edit else "send", chat_id or 0)
        while True:
            now = time.monotonic()
            until = max(self._paused_until, self._chat_paused_until.get(key, 0.0))
            if until <= now:
                self._chat_paused_until.pop(key, None)
                return
            await asyncio.sleep(until - now)

    async def _acquire(self, lane: str, chat_id: int | None) -> tuple[SendBudget, ...]:
        """Wait for a send slot; the budgets it was taken from count it until it is answered."""
        level = self._level(lane, chat_id)
        self._waiting[level] += 1
        metrics.WAITING.labels(_LEVELS[level]).set(self._waiting[level])
        try:
            while True:
                now = time.monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                # A chat can turn busy while its reply waits (its earlier replies went).
                self._waiting[level] -= 1
                level = self._level(lane, chat_id)
                self._waiting[level] += 1
                chat = self._chat_bucket(chat_id, now)
                reserve = self._bulk_reserve * self._overall.burst  # left for replies
                need = 1.0 if lane == INTERACTIVE else 1.0 + reserve
                wait = self._overall.wait_time(now, need)
                if any(self._waiting[:level]):
                    wait = max(wait, 1.0 / self.rate)
                if chat is not None:
                    wait = max(wait, chat.wait_time(now))
                if wait <= 0:
                    budgets = (self._overall,) if chat is None else (self._overall, chat)
                    for budget in budgets:
                        budget.start()
                    if lane == INTERACTIVE:
                        self.replies_sent += 1
                    if chat_id is not None:
                        faded = max(self._chat_load.get(chat_id, now), now)
                        self._chat_load[chat_id] = faded + LOAD_FADE
                    return budgets
                await asyncio.sleep(wait)
        finally:
            self._waiting[level] -= 1
            metrics.WAITING.labels(_LEVELS[level]).set(self._waiting[level])

    def _level(self, lane: str, chat_id: int | None) -> int:
        """0: a reply; 1: a reply to a chat that has had more than `BUSY_LOAD` messages beyond
        one per `LOAD_FADE` seconds (someone flooding the bot); 2: bulk."""
        if lane == BULK:
            return 2
        faded = self._chat_load.get(chat_id, 0.0) if chat_id is not None else 0.0
        return 1 if faded - time.monotonic() > BUSY_LOAD * LOAD_FADE else 0

    def _chat_bucket(self, chat_id: int | None, now: float) -> SendBudget | None:
        if chat_id is None:
            return None
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) > 10_000:  # forget chats whose budget is whole again
                self._chats = {k: b for k, b in self._chats.items() if not b.idle(now)}
            rate, burst = (20 / 60, 20.0) if chat_id < 0 else (self._chat_rate, self._chat_burst)
            bucket = self._chats[chat_id] = SendBudget(rate, burst)
        return bucket


def _finish(budgets: tuple[SendBudget, ...]) -> None:
    answered_at = time.monotonic()
    for budget in budgets:
        budget.finish(answered_at)


def _release(budgets: tuple[SendBudget, ...]) -> None:
    for budget in budgets:
        budget.release()


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _chat_id(data: dict[str, Any]) -> int | None:
    try:
        return int(data["chat_id"])
    except (KeyError, TypeError, ValueError):
        return None
