"""The bot's HTTP server: Telegram's webhook, /healthz, /readyz and /metrics (aiohttp).

Hand-written on aiohttp rather than PTB's built-in webhook server, which serves the webhook
alone: a load balancer needs the health checks and Prometheus the metrics on the same port.
An update is answered only once it has been handled (through the per-chat processor), so
Telegram does not send the next one of that connection before, and an update a replica
could not handle (it is stopping, the database is away) is answered 503 for Telegram to
deliver again rather than lost.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.services import Services

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
READY_CHECK_TIMEOUT = 3.0  # seconds for each of the database and the Bot API to answer


class HttpServer:
    def __init__(self, application: Application, services: Services) -> None:
        self.application = application
        self.services = services
        settings = services.settings
        url = settings.webhook_url
        self.webhook_path = (urlsplit(url).path or "/") if url else None
        secret = settings.webhook_secret
        self._secret = secret.get_secret_value().encode() if secret else b""
        self._runner: web.AppRunner | None = None
        self.accepting = True
        self.port = 0

    async def start(self) -> None:
        listen = self.services.settings.listen
        assert listen is not None
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        if self.webhook_path is not None:
            app.router.add_post(self.webhook_path, self._webhook)
        # On stop, updates being handled get 10 s to finish (the bot's whole stop has 25).
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=10.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, *listen)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("HTTP server on %s:%s", listen[0], self.port)

    async def stop(self) -> None:
        self.accepting = False
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=403, text="wrong secret token")
        if not self.accepting:
            return web.Response(status=503, text="stopping")  # Telegram delivers it again
        try:
            data: Any = await request.json()
            update = Update.de_json(data, self.application.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="not an update")
        application = self.application
        await application.update_processor.process_update(
            update, application.process_update(update)
        )
        return web.Response(text="ok")

    async def _healthz(self, _request: web.Request) -> web.Response:
        """Alive: the event loop answers."""
        return web.Response(text="ok")

    async def _readyz(self, _request: web.Request) -> web.Response:
        """Ready for traffic: the database and the Bot API both answer."""
        problems = {}
        started = time.monotonic()
        try:
            await asyncio.wait_for(
                self.services.db.run(lambda s: s.execute(text("SELECT 1"))), READY_CHECK_TIMEOUT
            )
        except Exception as exc:  # any failure means "not ready", said in one line
            problems["database"] = _one_line(exc)
        try:
            await asyncio.wait_for(self.application.bot.get_me(), READY_CHECK_TIMEOUT)
        except (TelegramError, TimeoutError) as exc:
            problems["bot_api"] = _one_line(exc)
        body = {
            "ready": not problems and self.accepting,
            "problems": problems,
            "seconds": round(time.monotonic() - started, 3),
        }
        return web.json_response(body, status=200 if body["ready"] else 503, dumps=json.dumps)

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def _one_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
