"""Run the real bot inside an asyncio loop: in production, in the sandbox, in tests and benchmarks.

One path for all of them, so what the tests drive is what runs in production: migrations are
applied, the Application is built with every handler and job, and updates arrive by long polling
from BOT_API_URL (Telegram, or the emulator) or, with WEBHOOK_URL, at the bot's HTTP server.
One process at a time may poll (a lock in the database); with webhooks on PostgreSQL, several
replicas may run, and one of them sends the reminders and tips (`bot.leader`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType

from jinja2 import Environment
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import Application

from bot import metrics
from bot.app import ALLOWED_UPDATES, build_application, new_http, set_commands
from bot.broadcaster import Broadcaster
from bot.budget_share import BudgetShare
from bot.http import AiohttpRequest
from bot.http_server import HttpServer
from bot.leader import BulkSender
from bot.logs import OncePerOutage
from bot.outbound import Governor
from bot.scheduler import ReminderScheduler
from bot.services import Services, services_of
from bot.settings import Settings
from dialogs import render
from dialogs.content import Content, content_of, load_content
from dialogs.content_file import ContentError
from storage.db import Database, upgrade
from storage.locks import POLLING, ProcessLock
from storage.models import utcnow

log = logging.getLogger(__name__)
SETTLE_AT_MOST = 6.0  # seconds: a chat's burst of 5 fades at 1 a second


class AlreadyRunning(Exception):
    """Another process holds this database's polling lock."""


class RunningBot:
    """`async with RunningBot(settings):` runs the bot until the block ends."""

    def __init__(
        self,
        settings: Settings,
        *,
        content: Content | None = None,
        governor: Governor | None = None,
        poll_timeout: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
        settle: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.bulk: BulkSender | None = None
        self.http: HttpServer | None = None
        self.share: BudgetShare | None = None
        self._polling_lock: ProcessLock | None = None
        self.content = content
        self.governor = governor or Governor(settings.send_rate)
        self.poll_timeout = poll_timeout
        # On stop, wait until Telegram's count of our recent sends has faded (a few seconds at
        # most): the process that starts next cannot know them, and would meet 429s in the
        # chats we had just written to. Off where no bot follows (the tests' shared fixture).
        self.settle = settle
        self.db: Database | None = None
        self.app: Application | None = None
        self._http: tuple[AiohttpRequest, ...] = ()
        self._templates_before: Environment | None = None

    @property
    def services(self) -> Services:
        assert self.app is not None
        return services_of(self.app)

    @property
    def scheduler(self) -> ReminderScheduler | None:
        return self.bulk.scheduler if self.bulk else None

    @property
    def broadcaster(self) -> Broadcaster | None:
        return self.bulk.broadcaster if self.bulk else None

    async def start(self) -> None:
        settings = self.settings
        polling = not settings.webhook_url
        if polling or make_url(settings.database_url).get_backend_name() == "sqlite":
            lock = ProcessLock(settings.database_url, POLLING)
            if not await asyncio.to_thread(lock.acquire):
                raise AlreadyRunning(
                    "Another bot process is already taking updates from this database by long "
                    "polling. Stop it first (to run several replicas, use webhooks on "
                    "PostgreSQL)."
                    if polling
                    else "Another bot process already uses this SQLite database: one process "
                    "per SQLite file (several replicas need PostgreSQL)."
                )
            self._polling_lock = lock
        await asyncio.to_thread(upgrade, settings.database_url)
        self.db = Database(settings.database_url)
        self.db.on_transaction = metrics.DB_TRANSACTION.observe
        content = self.content
        if content is None:
            content = await asyncio.to_thread(content_of, settings.content_dir)
        self._templates_before = render.environment()  # again once stopped (tests run several)
        render.use(content.templates)
        services = Services(self.settings, self.db, content, clock=self.clock)
        self._http = new_http()
        self.app = build_application(services, self.governor, self._http)
        try:
            await self.app.initialize()
            if self.app.post_init:
                await self.app.post_init(self.app)
            if settings.listen is not None:
                self.http = HttpServer(self.app, services)
                await self.http.start()
            if polling:
                assert self.app.updater is not None
                await self.app.updater.start_polling(
                    allowed_updates=ALLOWED_UPDATES,
                    timeout=timedelta(seconds=self.poll_timeout),
                    error_callback=OncePerOutage(log, "getUpdates"),
                )
            else:
                await self._set_webhook()
            await self.app.start()
            if not polling:  # other replicas may run: share the token's budget with them
                self.share = BudgetShare(self.app, services, self.governor)
                self.share.start()
            self.bulk = BulkSender(self.app, services)
            await self.bulk.start()
        except BaseException:
            await self.stop()
            raise
        log.info("bot @%s is running", self.app.bot.username)

    async def reload_content(self) -> bool:
        """Read the content folder again (SIGHUP) and use it from the next update on; updates
        in progress finish with what they started with. A folder with a mistake is refused
        and the running content kept, with one log line naming every mistake."""
        folder = self.settings.content_dir
        try:
            content = await asyncio.to_thread(load_content, folder)
        except ContentError as exc:
            log.error(
                "content not reloaded (the running content stays): %s",
                "; ".join(exc.problems),
            )
            return False
        if self.app is None:
            return False
        render.use(content.templates)
        self.services.content = content
        await set_commands(self.app)
        log.info("content reloaded from %s", folder or "the shipped pack")
        return True

    async def _set_webhook(self) -> None:
        """Tell Telegram where to post updates. Pending updates are kept (they are clients'
        messages); every replica sets the same URL, so a restart of one changes nothing."""
        assert self.app is not None and self.settings.webhook_secret is not None
        await self.app.bot.set_webhook(
            url=self.settings.webhook_url,
            secret_token=self.settings.webhook_secret.get_secret_value(),
            max_connections=self.settings.webhook_max_connections,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.stop()  # updates arriving now get 503: Telegram sends them again
            self.http = None
        if self.bulk is not None:
            await self.bulk.stop()
            self.bulk = None
        if self.share is not None:
            with contextlib.suppress(SQLAlchemyError):  # the database may be the trouble
                await self.share.stop()
            self.share = None
        app, self.app = self.app, None
        if app is not None:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
            if self.settle:
                await asyncio.sleep(min(self.governor.faded_in(), SETTLE_AT_MOST))
        for request in self._http:  # PTB skips this when start-up failed half-way
            await request.shutdown()
        if self.db is not None:
            await self.db.dispose()
            self.db = None
        if self._polling_lock is not None:
            await asyncio.to_thread(self._polling_lock.release)
            self._polling_lock = None
        if self._templates_before is not None:
            render.use(self._templates_before)
            self._templates_before = None

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


# How long a stop may take before the process exits anyway: under the 30 s a container
# platform (Kubernetes, systemd's default) waits after SIGTERM before it sends SIGKILL.
STOP_GRACE = 25.0


async def serve(settings: Settings, content: Content | None = None) -> None:
    """Production: run until SIGINT or SIGTERM, then stop in order within STOP_GRACE: no new
    updates (webhook posts get 503, polling ends), the updates being handled finish, queued
    reminders and tips that were never claimed stay due, sends in flight are recorded."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    running = RunningBot(settings, content=content)
    await running.start()
    reloads: set[asyncio.Task[bool]] = set()  # kept until done (the loop holds tasks weakly)

    def reload() -> None:
        task = asyncio.create_task(running.reload_content())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload)
    try:
        await stop.wait()
    finally:
        try:
            await asyncio.wait_for(running.stop(), STOP_GRACE)
        except TimeoutError:
            log.warning("stopping took over %.0f s: exiting with work unfinished", STOP_GRACE)
    log.info("stopped")
