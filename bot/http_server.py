"""The bot's HTTP server: Telegram's webhook, /healthz, /readyz and /metrics (aiohttp).

Hand-written on aiohttp rather than PTB's built-in webhook server, which serves the webhook
alone: a load balancer needs the health checks and Prometheus the metrics on the same port.
An update is answered only once it has been handled (through the per-chat processor), so
Telegram does not send the next one of that connection before, and an update a replica
could not handle (it is stopping, the database is away) is answered 503 for Telegram to
deliver again rather than lost.

Anyone who reaches the port may knock, so: a post without the secret token gets 403 (counted,
and logged once a minute); /readyz says only "ready" or "not ready", and why, like /metrics,
only to this machine or with METRICS_TOKEN; slow, idle and surplus connections are closed
(`bot.http_limits`).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import os
import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr
from sqlalchemy import text
from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot import metrics
from bot.http import AiohttpRequest, without_token
from bot.http_limits import AcceptErrors, ConnectionCap, CountedWarning, connection_limit
from bot.readiness import CHECK_TIMEOUT, NotReady, ReadinessCheck
from bot.services import Services

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# A connection that has sent no complete request for this long is closed: since its start
# (slow or half-sent headers) or since its last answer (idle keep-alive). A reverse proxy
# that keeps idle connections to the bot should close them sooner (nginx, Caddy: see README).
IDLE_TIMEOUT = 15.0
BODY_TIMEOUT = 10.0  # seconds for an update's body to arrive once its headers have
BACKLOG = 128  # connections the kernel holds while the server is busy accepting
# Headers a reverse proxy adds: with a proxy on this machine every request comes from
# 127.0.0.1, so a request that carries one is not taken for this machine's own.
_PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


class ListenError(Exception):
    """HTTP_LISTEN cannot be listened on: `bmx-bot` says so in one line (not as a database
    or network trouble, which an OSError would otherwise be taken for)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"Cannot listen on HTTP_LISTEN={where}: {reason}")


class HttpServer:
    def __init__(self, application: Application, services: Services) -> None:
        self.application = application
        self.services = services
        settings = services.settings
        url = settings.webhook_url
        self.webhook_path = (urlsplit(url).path or "/") if url else None
        self._secret = _secret_bytes(settings.webhook_secret)
        self._metrics_token = _secret_bytes(settings.metrics_token)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._accept_errors = AcceptErrors()
        # getMe for readiness by a Bot of its own, outside the governor: a 429 or an outage
        # met by a health check must not pause the replies (it paused every client for 12 s).
        assert settings.token, "only a bot with a token serves HTTP"
        self._probe_http = AiohttpRequest(connection_pool_size=2, read_timeout=CHECK_TIMEOUT)
        self._probe = Bot(
            settings.token,
            base_url=f"{settings.bot_api_url}/bot",
            request=self._probe_http,
            get_updates_request=self._probe_http,
        )
        self.readiness = ReadinessCheck({"database": self._database, "bot_api": self._bot_api})
        self._wrong_secret = CountedWarning(
            log,
            "webhook posts refused for a wrong or missing secret token (403): %d (all are "
            "counted in bmx_webhook_refused_total; logged at most once a minute)",
        )
        self.accepting = True
        self.port = 0

    async def start(self) -> None:
        listen = self.services.settings.listen
        assert listen is not None
        cap = ConnectionCap(connection_limit(BACKLOG))
        app = web.Application(client_max_size=1024 * 1024, middlewares=[cap.track])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        if self.webhook_path is not None:
            app.router.add_post(self.webhook_path, self._webhook)
        # On stop, updates being handled get 10 s to finish (the bot's whole stop has 25).
        # aiohttp's own limits stay: request line and each header at most 8 KiB, 128 headers.
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=10.0,
            keepalive_timeout=IDLE_TIMEOUT,
        )
        await self._runner.setup()
        assert self._runner.server is not None
        loop = asyncio.get_running_loop()
        self._accept_errors.install(loop)
        # loop.create_server rather than aiohttp's TCPSite: the cap stands between them.
        try:
            self._listener = await loop.create_server(
                cap.factory(self._runner.server), *listen, backlog=BACKLOG
            )
        except OSError as exc:  # the port is taken, or the address is not this machine's
            await self._runner.cleanup()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)  # asyncio's own is long
            raise ListenError(f"{listen[0]}:{listen[1]}", reason) from None
        self.port = self._listener.sockets[0].getsockname()[1]
        log.info("HTTP server on %s:%s (at most %d connections)", listen[0], self.port, cap.limit)

    async def stop(self) -> None:
        self.accepting = False
        if self._listener is not None:
            self._listener.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._listener is not None:
            await self._listener.wait_closed()
            self._listener = None
        self._accept_errors.uninstall()
        await self._probe_http.shutdown()

    async def _webhook(self, request: web.Request) -> web.Response:
        try:
            given = request.headers.get(SECRET_HEADER, "").encode()
        except UnicodeEncodeError:  # aiohttp keeps bytes that are not UTF-8 as surrogates
            return _not_an_update("the secret token header is not UTF-8")
        if not hmac.compare_digest(given, self._secret):
            metrics.WEBHOOK_REFUSED.labels("secret").inc()
            self._wrong_secret()
            return web.Response(status=403, text="wrong secret token")
        if not self.accepting:
            return web.Response(status=503, text="stopping")  # Telegram delivers it again
        try:
            body = await asyncio.wait_for(request.read(), BODY_TIMEOUT)
        except TimeoutError:
            return web.Response(status=408, text="the update came too slowly")
        update = self._update(body)
        if update is None:
            return _not_an_update("not an update")
        application = self.application
        await application.update_processor.process_update(
            update, application.process_update(update)
        )
        return web.Response(text="ok")

    def _update(self, body: bytes) -> Update | None:
        try:
            data: Any = json.loads(body)
            if not isinstance(data, dict):
                return None
            return Update.de_json(data, self.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):  # malformed in some part
            return None

    async def _healthz(self, _request: web.Request) -> web.Response:
        """Alive: the event loop answers."""
        return web.Response(text="ok")

    async def _readyz(self, request: web.Request) -> web.Response:
        """Ready for traffic: the database and the Bot API both answer, and the bot is not
        stopping. Why not, only to this machine or with METRICS_TOKEN."""
        state = await self.readiness.current()
        problems = dict(state.problems)
        if not self.accepting:
            problems["process"] = "stopping"
        status = 503 if problems else 200
        if not self._trusted(request):
            return web.Response(status=status, text="not ready" if problems else "ready")
        body = {
            "ready": not problems,
            "problems": problems,
            "checked_seconds_ago": round(time.monotonic() - state.checked_at, 3),
            "check_seconds": state.seconds,
        }
        return web.json_response(body, status=status, dumps=json.dumps)

    async def _metrics(self, request: web.Request) -> web.Response:
        if not self._trusted(request):
            return web.Response(status=403, text="forbidden")
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    def _trusted(self, request: web.Request) -> bool:
        """May see the metrics and why the bot is not ready: this machine, or METRICS_TOKEN."""
        if self._metrics_token:
            try:
                given = request.headers.get("Authorization", "").encode()
            except UnicodeEncodeError:
                given = b""
            if hmac.compare_digest(given, b"Bearer " + self._metrics_token):
                return True
        return _from_this_machine(request)

    async def _database(self) -> None:
        await self.services.db.run(lambda s: s.execute(text("SELECT 1")))

    async def _bot_api(self) -> None:
        try:
            await self._probe.get_me()
        except TelegramError as exc:  # its words are Telegram's or aiohttp's, token masked
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise NotReady(without_token(f"{type(exc).__name__}: {first}")) from None


def _from_this_machine(request: web.Request) -> bool:
    if any(header in request.headers for header in _PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _secret_bytes(secret: SecretStr | None) -> bytes:
    return secret.get_secret_value().encode() if secret is not None else b""


def _not_an_update(reason: str) -> web.Response:
    metrics.WEBHOOK_REFUSED.labels("not_an_update").inc()
    return web.Response(status=400, text=reason)
