"""What keeps the bot's HTTP server answering when it is flooded with connections.

aiohttp closes a connection that has sent no complete request within `keepalive_timeout`,
counted from the connection's start as well as after each answer (see `bot.http_server`), so
that one setting times out slow headers and idle keep-alive connections alike. What aiohttp
has not got, and this module adds:
- a cap on open connections (`ConnectionCap`): without one, 1,100 half-sent connections used
  up the process's file descriptors, and then nothing, not even /healthz, got through;
- failed accepts logged once a minute (`AcceptErrors`): asyncio logs each one with a
  traceback, which wrote 231 MB of log in 80 s when the descriptors had run out;
- `CountedWarning`, a warning for something that may happen many times a second.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot import metrics

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 1000  # far more than Telegram (at most 100), a balancer and Prometheus open
# asyncio's words for a failed accept (EMFILE, ENFILE, ENOBUFS, ENOMEM): selector_events.py.
ACCEPT_FAILED = "socket.accept() out of system resource"
_FULL = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CountedWarning:
    """Log `message` at most once per `interval` seconds, with how many times it happened
    since the line before (its last %d): an attacker's guesses or a failing accept must not
    flood the log, yet the count is still told."""

    def __init__(
        self,
        logger: logging.Logger,
        message: str,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger, self.message, self.interval, self.clock = logger, message, interval, clock
        self._count = 0
        self._last = float("-inf")

    def __call__(self, *args: object) -> None:
        """It happened once more; `args` fill the message before the count."""
        self._count += 1
        now = self.clock()
        if now - self._last >= self.interval:
            self.logger.warning(self.message, *args, self._count)
            self._count, self._last = 0, now


def connection_limit(backlog: int) -> int:
    """At most MAX_CONNECTIONS, and fewer when the process may open few files: asyncio
    accepts up to `backlog` connections at a time before the cap sees them, and those it
    makes room for close a moment later, so twice that is set aside; of the rest, half, the
    other half left for the database, the Bot API and files."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, (soft - 2 * backlog) // 2))


class ConnectionCap:
    """The protocol factory of the HTTP server: aiohttp's connections, at most `limit` open.

    At the limit a new connection takes the place of the oldest one that is not handling a
    request (idle, or still sending its headers), so a health check still gets through a
    flood of half-sent connections; when every one is busy, the new one gets a 503."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._server: web.Server | None = None
        self._busy: set[asyncio.BaseTransport] = set()
        self._shed = CountedWarning(
            log,
            "the HTTP server is at its limit of %d open connections: closed one to make room "
            "or refused one %d times (logged at most once a minute)",
        )

    @web.middleware
    async def track(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Marks a connection busy while its request is handled (aiohttp's middleware)."""
        transport = request.transport
        if transport is not None:
            self._busy.add(transport)
        try:
            return await handler(request)
        finally:
            if transport is not None:
                self._busy.discard(transport)

    def factory(self, server: web.Server) -> Callable[[], asyncio.BaseProtocol]:
        """For `loop.create_server`, in place of aiohttp's `server` itself."""
        self._server = server
        return self._connection

    def _connection(self) -> asyncio.BaseProtocol:
        assert self._server is not None
        open_ = [c for c in self._server.connections if c.transport is not None]
        if len(open_) >= self.limit:
            metrics.HTTP_CONNECTIONS_SHED.inc()
            self._shed(self.limit)
            idle = next((c for c in open_ if c.transport not in self._busy), None)
            if idle is None:
                return _Refused()
            idle.force_close()  # the oldest first: aiohttp keeps them in the order they came
        return self._server()


class _Refused(asyncio.Protocol):
    """A connection the server has no room for: answered 503 and closed at once."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(_FULL)
        transport.close()


class AcceptErrors:
    """The event loop's exception handler while the HTTP server runs: failed accepts are
    logged once a minute with a count; anything else goes to the handler there was before."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: Any = None
        self._warning = CountedWarning(
            log,
            "the HTTP server could not accept a connection: %s (%d times; logged at most "
            "once a minute)",
        )

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._previous = loop, loop.get_exception_handler()
        loop.set_exception_handler(self)

    def uninstall(self) -> None:
        if self._loop is not None and self._loop.get_exception_handler() is self:
            self._loop.set_exception_handler(self._previous)
        self._loop = None

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if context.get("message") == ACCEPT_FAILED and isinstance(error, OSError):
            self._warning(error.strerror or type(error).__name__)
        elif self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)
