"""The reminder scheduler: a short periodic tick on PTB's JobQueue (APScheduler).

No job per client: each tick asks the database for the plans whose next prompt (or weekly
summary) is due, moves those plans on (`bot.reminders.claim_due`) and queues the messages.
A few workers send them through the outbound governor's "bulk" lane, which keeps within
Telegram's budget and lets replies to people chatting go first. The queue is short (about
two seconds of the budget), so a tick never claims much more than can be sent soon: prompts
stay on time, and a crash can lose only those few, never send one twice. On a clean stop,
what is still queued is put back to be sent after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, Job

from bot.outbound import BULK
from bot.reminders import Outgoing, claim_due, unclaim
from bot.replies import markup
from bot.services import Services

log = logging.getLogger(__name__)
TICK = timedelta(seconds=1)
WORKERS = 4


class ReminderScheduler:
    def __init__(self, application: Application, services: Services) -> None:
        self.application = application
        self.services = services
        self.capacity = max(10, int(services.settings.send_rate * 2))
        self.queue: asyncio.Queue[Outgoing] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._job: Job | None = None
        self.sent = 0
        self.ticks = 0
        self.tick_cpu = 0.0  # process CPU seconds spent in ticks (claiming, not sending)
        self.tick_cpu_max = 0.0

    def start(self) -> None:
        assert self.application.job_queue is not None
        self._job = self.application.job_queue.run_repeating(
            self._tick, interval=TICK, first=TICK, name="reminders"
        )
        self._workers = [asyncio.create_task(self._worker()) for _ in range(WORKERS)]

    async def stop(self, drain: float = 3.0) -> None:
        """Stop claiming, give the queue a moment to empty, put back what is left."""
        if self._job is not None:
            self._job.schedule_removal()
            self._job = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), drain)
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []
        left: list[Outgoing] = []
        while not self.queue.empty():
            left.append(self.queue.get_nowait())
        if left:
            await self.services.db.run(lambda s: unclaim(s, left))
            log.info("put back %d reminders not sent before stopping", len(left))
        log.info(
            "reminder scheduler stopped: %d sent, %d ticks, %.2f ms CPU per tick, %.2f ms at most",
            self.sent,
            self.ticks,
            1000 * self.tick_cpu / max(1, self.ticks),
            1000 * self.tick_cpu_max,
        )

    async def _tick(self, _context: object) -> None:
        started = time.process_time()
        room = self.capacity - self.queue.qsize()
        if room > 0:
            now = self.services.clock()
            items = await self.services.db.run(lambda s: claim_due(self.services, s, now, room))
            for item in items:
                self.queue.put_nowait(item)
        spent = time.process_time() - started
        self.ticks += 1
        self.tick_cpu += spent
        self.tick_cpu_max = max(self.tick_cpu_max, spent)

    async def _worker(self) -> None:
        bot = self.application.bot
        while True:
            item = await self.queue.get()
            try:
                await bot.send_message(
                    item.chat_id,
                    item.reply.text,
                    reply_markup=markup(item.reply.buttons),
                    rate_limit_args=BULK,
                )
                self.sent += 1
            except Forbidden:
                pass  # the governor has marked them blocked: no more prompts go to them
            except TelegramError:
                log.exception("could not send a reminder to chat %s", item.chat_id)
            finally:
                self.queue.task_done()
