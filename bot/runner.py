"""Run the real bot inside an asyncio loop: in production, in the sandbox, in tests and benchmarks.

One path for all of them, so what the tests drive is what runs in production: migrations are
applied, the Application is built with every handler and job, and updates arrive by long polling
from BOT_API_URL (Telegram, or the emulator).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType

from telegram.ext import Application

from bot.app import ALLOWED_UPDATES, build_application, new_http
from bot.broadcaster import Broadcaster
from bot.http import AiohttpRequest
from bot.logs import OncePerOutage
from bot.outbound import Governor
from bot.scheduler import ReminderScheduler
from bot.services import Services, load_content, services_of
from bot.settings import Settings
from dialogs.questionnaire import Questionnaire
from storage.db import Database, upgrade
from storage.models import utcnow

log = logging.getLogger(__name__)


class RunningBot:
    """`async with RunningBot(settings):` runs the bot until the block ends."""

    def __init__(
        self,
        settings: Settings,
        *,
        questionnaire: Questionnaire | None = None,
        governor: Governor | None = None,
        poll_timeout: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.scheduler: ReminderScheduler | None = None
        self.broadcaster: Broadcaster | None = None
        self.questionnaire = questionnaire
        self.governor = governor or Governor(settings.send_rate)
        self.poll_timeout = poll_timeout
        self.db: Database | None = None
        self.app: Application | None = None
        self._http: tuple[AiohttpRequest, ...] = ()

    @property
    def services(self) -> Services:
        assert self.app is not None
        return services_of(self.app)

    async def start(self) -> None:
        await asyncio.to_thread(upgrade, self.settings.database_url)
        self.db = Database(self.settings.database_url)
        questionnaire = self.questionnaire or load_content(self.settings)
        services = Services(self.settings, self.db, questionnaire, clock=self.clock)
        self._http = new_http()
        self.app = build_application(services, self.governor, self._http)
        try:
            await self.app.initialize()
            if self.app.post_init:
                await self.app.post_init(self.app)
            assert self.app.updater is not None
            await self.app.updater.start_polling(
                allowed_updates=ALLOWED_UPDATES,
                timeout=timedelta(seconds=self.poll_timeout),
                error_callback=OncePerOutage(log, "getUpdates"),
            )
            await self.app.start()
            self.scheduler = ReminderScheduler(self.app, services)
            self.scheduler.start()
            self.broadcaster = Broadcaster(self.app, services)
            self.app.bot_data["broadcaster"] = self.broadcaster
            await self.broadcaster.start()
        except BaseException:
            await self.stop()
            raise
        log.info("bot @%s is running", self.app.bot.username)

    async def stop(self) -> None:
        if self.broadcaster is not None:
            await self.broadcaster.stop()
            self.broadcaster = None
        if self.scheduler is not None:
            await self.scheduler.stop()
            self.scheduler = None
        app, self.app = self.app, None
        if app is not None:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
        for request in self._http:  # PTB skips this when start-up failed half-way
            await request.shutdown()
        if self.db is not None:
            await self.db.dispose()
            self.db = None

    async def __aenter__(self) -> RunningBot:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def serve(settings: Settings) -> None:
    """Production: run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with RunningBot(settings):
        await stop.wait()
    log.info("stopped")
