"""The reminder scheduler: a short periodic tick on PTB's JobQueue (APScheduler).

No job per client: each tick asks the database for the plans whose next prompt (or weekly
summary) is due and queues the messages (`bot.cases.reminders.due_now`). A few workers send them
through the outbound governor's "bulk" lane, which keeps within Telegram's budget and lets
replies to people chatting go first. A message is claimed (its plan moved on) only once its
send slot is granted (`bot.cases.reminders.take`), so a crash or a stop loses nothing that had not
left, a request that never left is put back, and another process cannot send it as well. The
queue is short (about two seconds of the budget), so prompts stay on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, Job

from bot import metrics
from bot.botapi import NotSent
from bot.cases import reminders
from bot.cases.reminders import Outgoing, due_now
from bot.outbound import BULK, NotClaimed, SlotClaim
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
        self._queued: set[int] = set()  # plans with a message in the queue or being sent
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
        """Stop claiming, give the queue a moment to empty; what is left was never claimed
        and stays due for the next start."""
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
            queued = set(self._queued)
            items = await self.services.db.run(
                lambda s: due_now(self.services, s, now, room, queued)
            )
            for item in items:
                self._queued.add(item.plan_id)
                self.queue.put_nowait(item)
        spent = time.process_time() - started
        self.ticks += 1
        self.tick_cpu += spent
        self.tick_cpu_max = max(self.tick_cpu_max, spent)

    async def _worker(self) -> None:
        while True:
            item = await self.queue.get()
            try:
                await self._send(item)
            finally:
                self._queued.discard(item.plan_id)
                self.queue.task_done()

    async def _send(self, item: Outgoing) -> None:
        bot, db, clock = self.application.bot, self.services.db, self.services.clock

        async def take() -> bool:
            return await db.run(lambda s: reminders.take(self.services, s, item, clock()))

        first, *rest = item.replies
        first_left = False  # the first message (the check-in, if one goes) reached Telegram
        try:
            await bot.send_message(
                item.chat_id,
                first.text,
                reply_markup=markup(first.buttons),
                rate_limit_args=SlotClaim(take),
            )
            first_left = True
            for reply in rest:
                await bot.send_message(
                    item.chat_id,
                    reply.text,
                    reply_markup=markup(reply.buttons),
                    rate_limit_args=BULK,
                )
            self.sent += 1
            if item.kind == "prompt" and item.due_at is not None:
                lateness = (self.services.clock() - item.due_at).total_seconds()
                metrics.REMINDER_LATENESS.observe(max(0.0, lateness))
        except NotClaimed:
            pass  # changed, held, blocked or sent by another process meanwhile: not ours to send
        except NotSent:
            # Due again, to be sent later; a check-in that left already is not asked again.
            await db.run(lambda s: reminders.put_back(s, item, asked=first_left))
        except Forbidden:
            pass  # the governor has marked them blocked: no more prompts go to them
        except TelegramError:
            log.exception("could not send a reminder")
