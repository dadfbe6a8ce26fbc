"""One process sends the reminders and tips; the others stand by to take over.

Telegram's budget is per bot token, not per process: with several replicas, the bulk sends
(movement-break prompts, staff tips) run in the one process that holds the `BULK` lock
(`storage.locks`), and each of the others tries to take it every few seconds, so a replica
that dies is replaced within `CHECK` seconds plus its lock's release. The leader checks that
it still holds the lock (a database restart ends it) and steps down if not. Rows are claimed
at their send slot in any case (see `bot.scheduler`, `bot.broadcaster`), so even two leaders
for a moment would send nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import Application, Job

from bot import metrics
from bot.broadcaster import Broadcaster
from bot.scheduler import ReminderScheduler
from bot.services import Services
from storage.locks import BULK, ProcessLock

log = logging.getLogger(__name__)
CHECK = timedelta(seconds=5)


class BulkSender:
    """Starts the reminder scheduler and the broadcaster while this process leads."""

    def __init__(self, application: Application, services: Services) -> None:
        self.application = application
        self.services = services
        self.lock = ProcessLock(services.settings.database_url, BULK)
        self.scheduler: ReminderScheduler | None = None
        self.broadcaster: Broadcaster | None = None
        self._job: Job | None = None

    @property
    def leading(self) -> bool:
        return self.scheduler is not None

    async def start(self) -> None:
        await self._check(None)
        assert self.application.job_queue is not None
        self._job = self.application.job_queue.run_repeating(
            self._check, interval=CHECK, first=CHECK, name="bulk sender"
        )

    async def stop(self) -> None:
        if self._job is not None:
            self._job.schedule_removal()
            self._job = None
        await self._step_down()
        await asyncio.to_thread(self.lock.release)

    async def _check(self, _context: object) -> None:
        if self.leading:
            if not await asyncio.to_thread(self.lock.held):
                log.warning("lost the bulk-sender lock (database restart?): stepping down")
                await self._step_down()
            return
        try:
            taken = await asyncio.to_thread(self.lock.acquire)
        except SQLAlchemyError:
            return  # the database is away: the next check tries again
        if taken:
            log.info("this process now sends the reminders and tips")
            metrics.LEADING.set(1)
            self.scheduler = ReminderScheduler(self.application, self.services)
            self.scheduler.start()
            self.broadcaster = Broadcaster(self.application, self.services)
            self.application.bot_data["broadcaster"] = self.broadcaster
            await self.broadcaster.start()

    async def _step_down(self) -> None:
        metrics.LEADING.set(0)
        self.application.bot_data.pop("broadcaster", None)
        if self.broadcaster is not None:
            await self.broadcaster.stop()
            self.broadcaster = None
        if self.scheduler is not None:
            await self.scheduler.stop()
            self.scheduler = None
