"""Delivering broadcasts: exactly once per client, at Telegram's pace, across crashes.

A one-second tick on PTB's JobQueue starts scheduled broadcasts that fell due and runs each
broadcast that is sending (one task per broadcast, also after a restart). Each recipient's
delivery is claimed (`sending`, committed) once the governor grants its send slot, just
before the request leaves, and finished after it returns; a request that never left (no
connection) goes back to `pending`. At start-up, a delivery still `sending` was in flight
during a crash and becomes `unconfirmed` instead of being sent again. Sends use the outbound
governor's "bulk" lane, so they keep to the overall budget, wait out 429s and let replies to
people chatting go first. The staff member who sent it sees one status message, edited as it
goes, then a report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from functools import partial

from sqlmodel import Session
from telegram import Message
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ExtBot, Job

from bot import metrics
from bot.botapi import NotSent
from bot.outbound import NotClaimed, SlotClaim
from bot.replies import markup
from bot.services import Services
from dialogs import broadcasts as dialog
from dialogs.render import render
from dialogs.staff_text import render_tip
from dialogs.statuses import BroadcastStatus, DeliveryStatus
from storage import broadcasts as repo
from storage.models import Broadcast

log = logging.getLogger(__name__)
TICK = timedelta(seconds=1)
WORKERS = 8  # requests in flight: enough to keep up with the budget over a slow network
PROGRESS_EVERY = 2.0  # seconds between edits of the staff member's status message
PAGE = 200


async def send_tip(
    bot: ExtBot[str | SlotClaim],
    chat_id: int,
    broadcast: Broadcast,
    first_name: str,
    *,
    rate_limit_args: SlotClaim | None = None,
) -> Message:
    """The tip as a client gets it: rendered for them, with its unsubscribe button."""
    text = render_tip(broadcast.template or "", first_name)
    buttons = markup(dialog.tip_buttons())
    if broadcast.photo:
        return await bot.send_photo(
            chat_id,
            broadcast.photo,
            caption=text or None,
            reply_markup=buttons,
            rate_limit_args=rate_limit_args,
        )
    return await bot.send_message(
        chat_id, text, reply_markup=buttons, rate_limit_args=rate_limit_args
    )


class Broadcaster:
    def __init__(self, application: Application, services: Services) -> None:
        self.application = application
        self.services = services
        self._job: Job | None = None
        self._runs: dict[int, asyncio.Task[None]] = {}
        self._stopping: set[int] = set()
        self._closing = False

    async def start(self) -> None:
        lost = await self.services.db.run(repo.mark_unconfirmed)
        if lost:
            log.warning("%d tip deliveries were in flight when the bot stopped: unconfirmed", lost)
        assert self.application.job_queue is not None
        self._job = self.application.job_queue.run_repeating(
            self._tick, interval=TICK, first=0.1, name="broadcasts"
        )

    async def stop(self, drain: float = 5.0) -> None:
        """Stop starting sends; give those in flight a moment to finish and be recorded.
        A send still waiting after that (say, out a long 429 pause) is cancelled and, as its
        request may have left, reported unconfirmed."""
        self._closing = True
        if self._job is not None:
            self._job.schedule_removal()
            self._job = None
        self._stopping.update(self._runs)
        runs = list(self._runs.values())
        if runs:
            _, late = await asyncio.wait(runs, timeout=drain)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def cancel(self, broadcast_id: int) -> None:
        """Staff pressed Stop: send nothing more (the database already says cancelled)."""
        self._stopping.add(broadcast_id)

    async def _tick(self, _context: object) -> None:
        if self._closing:
            return
        now = self.services.clock()
        db = self.services.db
        due, missed = await db.run(lambda s: repo.due_scheduled(s, now))
        for bid in due:
            await db.run(
                partial(repo.start, broadcast_id=bid, before=BroadcastStatus.SCHEDULED, now=now)
            )
        for broadcast in missed:
            await self._tell_missed(broadcast)
        for broadcast in await db.run(repo.sending):
            if self._closing:
                return
            assert broadcast.id is not None
            bid = broadcast.id
            if bid not in self._runs and bid not in self._stopping:
                task = asyncio.create_task(self._run(broadcast), name=f"broadcast {bid}")
                self._runs[bid] = task
                task.add_done_callback(partial(self._ran, bid))

    def _ran(self, bid: int, _task: asyncio.Task[None]) -> None:
        self._runs.pop(bid, None)

    async def _tell_missed(self, broadcast: Broadcast) -> None:
        zone = self.services.clinic.zone
        assert broadcast.scheduled_at is not None  # it was missed: it had a time
        text = render(
            "staff/missed",
            number=broadcast.id,
            at=dialog.local_time(broadcast.scheduled_at, zone),
            zone=zone.key,
        )
        with contextlib.suppress(TelegramError):
            await self.application.bot.send_message(broadcast.staff_id, text)

    async def _run(self, broadcast: Broadcast) -> None:
        assert broadcast.id is not None
        bid = broadcast.id
        progress = Progress(self, broadcast)
        with contextlib.suppress(TelegramError):  # the staff member may have blocked the bot
            await progress.show(final=False)
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=WORKERS * 2)
        workers = [asyncio.create_task(self._worker(broadcast, queue)) for _ in range(WORKERS)]
        reporter = asyncio.create_task(progress.keep_showing())
        try:
            after = 0
            while bid not in self._stopping:
                page = await self.services.db.run(
                    partial(repo.pending_page, broadcast_id=bid, after=after, limit=PAGE)
                )
                if not page:
                    if after == 0:
                        break
                    await queue.join()  # then once more from the start: a send put back
                    after = 0  # after Telegram kept saying "slow down" is still pending
                    continue
                for delivery_id in page:
                    if bid in self._stopping:
                        break
                    await queue.put(delivery_id)
                after = page[-1]
            await queue.join()
        finally:
            for task in (*workers, reporter):
                task.cancel()
            await asyncio.gather(*workers, reporter, return_exceptions=True)
            # A send cut off here may have reached the client: never send it again.
            lost = await self.services.db.run(lambda s: repo.mark_unconfirmed(s, bid))
            if lost:
                log.warning("broadcast %s: %d sends cut off, marked unconfirmed", bid, lost)
        if bid in self._stopping and not await self._cancelled(bid):
            return  # the bot is stopping: the next start carries on
        now = self.services.clock()
        finished = await self.services.db.run(
            lambda s: repo.move(
                s, bid, (BroadcastStatus.SENDING,), status=BroadcastStatus.DONE, finished_at=now
            )
        )
        state = BroadcastStatus.DONE if finished else BroadcastStatus.CANCELLED
        with contextlib.suppress(TelegramError):
            await progress.show(final=True, state=state)
            await progress.report(state)
        self._stopping.discard(bid)

    async def _cancelled(self, bid: int) -> bool:
        row = await self.services.db.run(lambda s: s.get(Broadcast, bid))
        return row is not None and row.status == BroadcastStatus.CANCELLED

    async def _worker(self, broadcast: Broadcast, queue: asyncio.Queue[int]) -> None:
        while True:
            delivery_id = await queue.get()
            try:
                if broadcast.id not in self._stopping:
                    await self._deliver(broadcast, delivery_id)
            except Exception:  # one recipient's trouble must not stop the rest
                log.exception("delivery %s of broadcast %s failed", delivery_id, broadcast.id)
            finally:
                queue.task_done()

    async def _deliver(self, broadcast: Broadcast, delivery_id: int) -> None:
        """Send one tip. The delivery is claimed (`sending`) only once the governor grants its
        send slot, so a crash leaves unconfirmed just the requests that had really left."""
        db = self.services.db
        recipient = await db.run(lambda s: repo.recipient(s, delivery_id))
        if recipient is None:
            await db.run(lambda s: repo.claim(s, delivery_id))  # records why not (erased)
            return

        async def take() -> bool:
            return await db.run(lambda s: repo.claim(s, delivery_id)) is not None

        status, message_id, reason = DeliveryStatus.SENT, None, None
        try:
            sent = await send_tip(
                self.application.bot,
                recipient.chat_id,
                broadcast,
                recipient.first_name,
                rate_limit_args=SlotClaim(take),
            )
            message_id = sent.message_id
        except NotClaimed:
            return  # blocked, unsubscribed, held or erased meanwhile: `claim` recorded it
        except Forbidden:
            status, reason = (
                DeliveryStatus.BLOCKED,
                "blocked the bot",
            )  # the governor marked the client
        except (RetryAfter, NotSent):
            status = (
                DeliveryStatus.PENDING
            )  # "slow down" or no connection: it did not go; try again later
        except BadRequest as exc:
            status, reason = (
                DeliveryStatus.FAILED,
                exc.message[:200],
            )  # the same request would fail again
        except TelegramError as exc:
            # A timeout or a dropped connection: it may have arrived. Not sent twice.
            status, reason = (
                DeliveryStatus.UNCONFIRMED,
                f"no answer from Telegram ({exc.message})"[:200],
            )
        except Exception as exc:  # e.g. the tip cannot be rendered for this name
            status, reason = DeliveryStatus.FAILED, f"{type(exc).__name__}: {exc}"[:200]
        await db.run(
            lambda s: repo.finish(s, delivery_id, status, message_id=message_id, reason=reason)
        )
        metrics.DELIVERIES.labels(status).inc()


class Progress:
    """The staff member's status message for one broadcast, and the report at the end."""

    def __init__(self, broadcaster: Broadcaster, broadcast: Broadcast) -> None:
        self.broadcaster = broadcaster
        self.services = broadcaster.services
        self.broadcast = broadcast
        assert broadcast.id is not None
        self.bid = broadcast.id
        self.bot = broadcaster.application.bot
        self._started = time.monotonic()
        self._sent_at_start: int | None = None
        self._last = ""

    async def keep_showing(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            with contextlib.suppress(TelegramError):
                await self.show(final=False)

    async def show(self, *, final: bool, state: str = BroadcastStatus.SENDING) -> None:
        text = await self._text(state)
        if text == self._last:
            return
        bid = self.bid
        buttons = None if final else markup(dialog.stop_button(bid))
        message_id = self.broadcast.status_message_id
        if message_id is not None:
            try:
                await self.bot.edit_message_text(
                    text, self.broadcast.staff_id, message_id, reply_markup=buttons
                )
                self._last = text
                return
            except BadRequest as exc:
                if "not modified" in exc.message:
                    return
                log.info("status message of broadcast %s is gone (%s); sending anew", bid, exc)
        sent = await self.bot.send_message(self.broadcast.staff_id, text, reply_markup=buttons)
        self.broadcast.status_message_id = sent.message_id
        self._last = text

        def remember(session: Session) -> None:
            row = session.get(Broadcast, bid)
            if row is not None:
                row.status_message_id = sent.message_id

        await self.services.db.run(remember)

    async def report(self, state: str) -> None:
        figures = await self._figures()
        await self.bot.send_message(
            self.broadcast.staff_id,
            render(
                "staff/report",
                number=self.broadcast.id,
                sent=figures[DeliveryStatus.SENT],
                total=sum(figures.values()),
                state=state,
            ),
        )

    async def _figures(self) -> dict[str, int]:
        bid = self.bid
        return (await self.services.db.run(lambda s: repo.figures(s, [bid])))[bid]

    async def _text(self, state: str) -> str:
        bid = self.bid
        figures = await self._figures()
        reasons = await self.services.db.run(lambda s: repo.failure_reasons(s, bid))
        pending = figures[DeliveryStatus.PENDING] + figures[DeliveryStatus.SENDING]
        if self._sent_at_start is None:
            self._sent_at_start = figures[DeliveryStatus.SENT]
        elapsed = time.monotonic() - self._started
        sent_here = figures[DeliveryStatus.SENT] - self._sent_at_start
        rate = sent_here / elapsed if sent_here >= 10 else self.services.settings.send_rate * 0.9
        return render(
            "staff/progress",
            number=bid,
            state=state,
            audience=dialog.segment_label(self.broadcast.segment, self.services.service_names),
            figures=figures,
            total=sum(figures.values()),
            seconds_left=round(pending / rate) + 1 if pending else None,
            reasons=reasons,
        )
