"""Readiness for /readyz: whether the database and the Bot API answer, checked at most every
MAX_AGE seconds.

Anyone who can reach the HTTP server may ask, as often as they like; a check per request
made each of them a database query and a Bot API call. So the last result is kept for a few
seconds, and the requests that arrive while a check runs wait for that same check.

A problem is described by the kind of error only, unless the check raises `NotReady` with
words of its own: a database error's words name its host, role and database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

MAX_AGE = 3.0  # seconds a result is kept
CHECK_TIMEOUT = 3.0  # seconds each check may take
Check = Callable[[], Awaitable[object]]


class NotReady(Exception):
    """A check failed; its message is safe to show (to this machine or METRICS_TOKEN)."""


@dataclass(frozen=True)
class Readiness:
    """The result of one round of checks: each failed check's problem, by name."""

    problems: dict[str, str] = field(default_factory=dict)
    checked_at: float = 0.0  # time.monotonic() when the round ended
    seconds: float = 0.0  # how long the round took

    @property
    def ready(self) -> bool:
        return not self.problems


class ReadinessCheck:
    """Runs the `checks` (concurrently) when asked and the last result is older than
    `max_age`; otherwise hands out that result."""

    def __init__(
        self,
        checks: Mapping[str, Check],
        *,
        max_age: float = MAX_AGE,
        timeout: float = CHECK_TIMEOUT,
    ) -> None:
        self.checks, self.max_age, self.timeout = dict(checks), max_age, timeout
        self._last: Readiness | None = None
        self._running: asyncio.Future[Readiness] | None = None

    async def current(self) -> Readiness:
        last = self._last
        if last is not None and time.monotonic() - last.checked_at < self.max_age:
            return last
        if self._running is None:
            self._running = asyncio.ensure_future(self._round())
        # Shielded: a client that hangs up does not cancel the check the others wait for.
        return await asyncio.shield(self._running)

    async def _round(self) -> Readiness:
        started = time.monotonic()
        try:
            found = await asyncio.gather(*(self._one(check) for check in self.checks.values()))
            problems = {
                name: problem for name, problem in zip(self.checks, found, strict=True) if problem
            }
            now = time.monotonic()
            self._last = Readiness(problems, now, round(now - started, 3))
            return self._last
        finally:
            self._running = None

    async def _one(self, check: Check) -> str | None:
        try:
            await asyncio.wait_for(check(), self.timeout)
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except NotReady as exc:
            return str(exc)
        except Exception as exc:  # any failure means "not ready"; its words may not be shown
            return type(exc).__name__
        return None
