"""Periodic work on PTB's JobQueue (APScheduler): the daily retention sweep, the hourly
removal of health details shown to staff, and the alert for hand-offs waiting too long."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.ext import Application

from bot.cases.inbox import send_due_alerts
from bot.cases.staff_posts import DETAILS_SHOWN, remove_posts
from bot.services import BotContext, Services
from dialogs.safety import CRISIS_QUIET
from storage import repo
from storage.models import utcnow

log = logging.getLogger(__name__)
ALERT_EVERY = timedelta(minutes=1)


async def erase_inactive_clients(services: Services, bot: Bot) -> int:
    """Erase clients inactive for longer than RETENTION_DAYS, and their posts in the staff
    group as far as Telegram allows. Returns how many."""
    before = utcnow() - timedelta(days=services.settings.retention_days)
    erased, posts = await services.db.run(lambda s: repo.erase_inactive(s, before))
    if erased:
        log.info("retention: erased %d clients inactive since %s", erased, before.date())
        await remove_posts(bot, posts)
    return erased


async def _retention_job(context: BotContext) -> None:
    await erase_inactive_clients(context.services, context.bot)


async def remove_expired_details(services: Services, bot: Bot) -> int:
    """Health details shown to staff a day ago go (the post that asked for them stays), and
    so does when crisis words were written, once their quiet day is over."""
    before = utcnow() - DETAILS_SHOWN
    quiet_over = services.clock() - CRISIS_QUIET
    await services.db.run(lambda s: repo.forget_crisis_words(s, quiet_over))
    expired = await services.db.run(lambda s: repo.expired_details(s, before))
    await remove_posts(bot, [(chat, message) for _, chat, message in expired])
    return len(expired)


async def _details_job(context: BotContext) -> None:
    await remove_expired_details(context.services, context.bot)


async def _alert_job(context: BotContext) -> None:
    await send_due_alerts(context.services, context.bot)


def schedule_jobs(application: Application) -> None:
    """Daily, and once shortly after start so a bot that restarts often still sweeps."""
    assert application.job_queue is not None, "install python-telegram-bot[job-queue]"
    application.job_queue.run_repeating(
        _retention_job, interval=timedelta(days=1), first=timedelta(minutes=1), name="retention"
    )
    application.job_queue.run_repeating(
        _details_job, interval=timedelta(minutes=10), first=timedelta(seconds=30), name="details"
    )
    # Hand-offs waiting too long (bot.handlers.inbox): soon after start too, so an alert that
    # fell due while the bot was down goes now. Claimed per request: replicas send it once.
    application.job_queue.run_repeating(
        _alert_job, interval=ALERT_EVERY, first=timedelta(seconds=1), name="handoff alerts"
    )
