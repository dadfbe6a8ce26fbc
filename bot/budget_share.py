"""Replicas share one bot token's budget through the database.

Telegram's limit is per token, not per process. The replica that sends the reminders and
tips (`bot.leader`) would otherwise fill the budget on its own while the others reply to
clients, and Telegram would answer 429. Every second each replica writes its own reply rate
(`storage.send_meter`) and reads the others'; its governor leaves that much to them
(`Governor.share`). Replies come first: the bulk sender, whose governor already serves its
own replies first, gives way to everyone's. Only in webhook mode: long polling runs alone.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import timedelta

from sqlmodel import Session
from telegram.ext import Application, Job

from bot.outbound import Governor
from bot.services import Services
from storage import send_meter
from storage.models import utcnow

EVERY = timedelta(seconds=1)
LIVE = timedelta(seconds=5)  # a replica that has not reported for this long is gone
SMOOTHING = 0.5  # weight of the newest second in the reported rate


class BudgetShare:
    def __init__(self, application: Application, services: Services, governor: Governor) -> None:
        self.application = application
        self.services = services
        self.governor = governor
        self.replica = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.rate = 0.0
        self.others = 0.0
        self._last = (time.monotonic(), governor.replies_sent)
        self._job: Job | None = None

    def start(self) -> None:
        assert self.application.job_queue is not None
        self._job = self.application.job_queue.run_repeating(
            self._tick, interval=EVERY, first=EVERY, name="budget share"
        )

    async def stop(self) -> None:
        if self._job is not None:
            self._job.schedule_removal()
            self._job = None
        now = utcnow()
        await self.services.db.run(lambda s: send_meter.withdraw(s, self.replica, now - 12 * LIVE))

    async def _tick(self, _context: object) -> None:
        then, sent_then = self._last
        now, sent = time.monotonic(), self.governor.replies_sent
        self._last = (now, sent)
        measured = (sent - sent_then) / max(now - then, 1e-3)
        self.rate = SMOOTHING * measured + (1 - SMOOTHING) * self.rate
        at = utcnow()

        def exchange(session: Session) -> float:
            send_meter.publish(session, self.replica, self.rate, at)
            return send_meter.others(session, self.replica, at - LIVE)

        self.others = await self.services.db.run(exchange)
        self.governor.share(self.others)
