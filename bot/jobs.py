"""Periodic work on PTB's JobQueue (APScheduler): the daily retention sweep."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import Application

from bot.services import BotContext, Services
from storage import repo
from storage.models import utcnow

log = logging.getLogger(__name__)


async def erase_inactive_clients(services: Services) -> int:
    """Erase clients inactive for longer than RETENTION_DAYS. Returns how many."""
    before = utcnow() - timedelta(days=services.settings.retention_days)
    erased = await services.db.run(lambda s: repo.erase_inactive(s, before))
    if erased:
        log.info("retention: erased %d clients inactive since %s", erased, before.date())
    return erased


async def _retention_job(context: BotContext) -> None:
    await erase_inactive_clients(context.services)


def schedule_jobs(application: Application) -> None:
    """Daily, and once shortly after start so a bot that restarts often still sweeps."""
    assert application.job_queue is not None, "install python-telegram-bot[job-queue]"
    application.job_queue.run_repeating(
        _retention_job, interval=timedelta(days=1), first=timedelta(minutes=1), name="retention"
    )
