"""Staff broadcasts as use cases: a tip in the making, its preview and panel, the audience,
sending now or at a time, stopping; and the list of recent ones.

A staff member has at most one tip in the making, a Broadcast row: `compose` waits for the
text, `when` for a typed date and time, `draft` has been previewed. Each button is done only
while its broadcast is in a fitting state (`None`: the button is out of date); the decisions
are `dialogs.broadcasts`'s, and what staff write is checked by `dialogs.staff_text` in a child
process first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from asyncio.subprocess import DEVNULL, PIPE
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlmodel import Session
from telegram.ext import ExtBot

from bot.broadcaster import send_tip
from bot.replies import markup
from bot.services import Services
from dialogs import broadcasts as dialog
from dialogs.render import labels, render
from dialogs.replies import Button, Notice, Reply
from dialogs.staff_text import (
    CHECK_COMMAND,
    CHECK_DIRECTORY,
    CHECK_SECONDS,
    TipError,
    check_answer,
    check_environment,
    check_request,
    from_telegram_html,
    to_telegram_html,
)
from dialogs.statuses import BroadcastStatus
from dialogs.tips import find_tip
from storage import broadcasts as repo
from storage.models import Broadcast
from storage.repo import TelegramUser

SHOWN_IN_LIST = 10
log = logging.getLogger(__name__)
DRAFT = (BroadcastStatus.DRAFT,)


# --- commands ----------------------------------------------------------------------------------


async def ask_tip(services: Services, staff: TelegramUser) -> Reply:
    """/broadcast: a new tip in the making (any earlier one is dropped), and the question."""
    await services.db.run(lambda s: repo.new_draft(s, staff.id))
    return Reply(render("staff/ask_tip"))


def library(services: Services) -> Reply:
    """/tips: the library of ready tips, one button each."""
    buttons = tuple(
        (Button(tip.title, dialog.BroadcastPress("tip", 0, tip.id)),) for tip in services.tips
    )
    return Reply(render("staff/tips"), buttons)


async def listing(services: Services) -> Reply:
    """/broadcasts: recent and planned broadcasts with their figures."""

    def load(session: Session) -> list[dialog.Listed]:
        items = [b for b in repo.recent(session, SHOWN_IN_LIST) if b.id is not None]
        figures = repo.figures(session, [b.id for b in items if b.id is not None])
        return [
            dialog.Listed(
                b.id, b.status, b.segment, b.template, b.scheduled_at, b.started_at, figures[b.id]
            )
            for b in items
            if b.id is not None
        ]

    items = await services.db.run(load)
    return dialog.listing(items, services.clinic.zone, services.service_names)


async def drop_open_draft(services: Services, staff_id: int) -> Reply | None:
    """/cancel with a tip in the making: it is dropped. None: there was none."""
    number = await services.db.run(lambda s: repo.drop_draft(s, staff_id))
    return None if number is None else Reply(render("staff/dropped", number=number))


# --- composing ---------------------------------------------------------------------------------


async def compose(
    services: Services,
    bot: ExtBot,
    staff: TelegramUser,
    draft: Broadcast,
    source: str,
    photo: str | None,
) -> Reply | None:
    """The tip a staff member sent (Telegram's HTML of it, and a photo's file id): checked,
    then saved and previewed. What is wrong with it, or None once the preview has gone."""
    template = from_telegram_html(source)
    if template.strip() or photo is None:  # a photo may go without a caption
        problem = await check_tip(template, staff.first_name, caption=photo is not None)
        if problem is not None:
            return Reply(render("staff/tip_problem", error=problem))
    draft_id = draft.id
    assert draft_id is not None
    saved = await services.db.run(lambda s: repo.save_tip(s, draft_id, template, photo))
    if saved is not None:
        await preview(services, bot, staff, saved)
    return None


async def plan(services: Services, draft: Broadcast, typed: str) -> Reply | None:
    """The date and time a staff member typed for their tip: planned, or what is wrong with
    it. None: the tip is no longer waiting for a time."""
    zone = services.clinic.zone
    now = services.clock()
    example = dialog.example_time(now, zone)
    moment = dialog.parse_when(typed, now, zone)
    problem = dialog.when_problem(moment, now)
    if problem is not None or moment is None:  # None: when_problem says it is unreadable
        return Reply(render(problem or "staff/when_unreadable", zone=zone.key, example=example))
    draft_id = draft.id
    assert draft_id is not None
    planned = await services.db.run(
        lambda s: repo.move(
            s,
            draft_id,
            (BroadcastStatus.WHEN,),
            status=BroadcastStatus.SCHEDULED,
            scheduled_at=moment,
        )
    )
    if not planned:
        return None
    return Reply(
        render(
            "staff/scheduled",
            number=draft_id,
            at=dialog.local_time(moment, zone),
            zone=zone.key,
            audience=dialog.segment_label(draft.segment, services.service_names),
        )
    )


async def check_tip(template: str, first_name: str, *, caption: bool) -> TipError | None:
    """check_tip, and render_tip for the staff member's own name (the preview), in a child
    process that is killed after CHECK_SECONDS; None if the tip is fine.

    Staff text runs there first, so whatever it does, the bot goes on answering. staff_text
    bounds every value a tip makes, so a check takes milliseconds (plus about 0.3 s to start
    Python); the process is what makes the time and memory limits hold for anything those
    bounds missed: a thread could not be stopped, and one long step in C would hold the GIL
    and stall the bot anyway. A process per check (tips are rare) needs no shutting down."""
    process = await asyncio.create_subprocess_exec(
        *CHECK_COMMAND,
        stdin=PIPE,
        stdout=PIPE,
        stderr=DEVNULL,
        cwd=CHECK_DIRECTORY,
        env=check_environment(),  # none of the bot's secrets
    )
    try:
        request = check_request(template, first_name, caption=caption)
        output, _ = await asyncio.wait_for(process.communicate(request), CHECK_SECONDS)
    except TimeoutError:
        log.warning("a tip check was stopped after %s seconds", CHECK_SECONDS)
        return TipError("size", f"checking it took over {CHECK_SECONDS:g} seconds")
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if process.returncode:
        log.warning("a tip check ended with exit code %s", process.returncode)
    return check_answer(output)


async def preview(
    services: Services, bot: ExtBot, staff: TelegramUser, broadcast: Broadcast
) -> None:
    """The tip exactly as a client gets it (with the staff member's name), then the panel."""
    await bot.send_message(staff.id, render("staff/preview_intro", number=broadcast.id))
    await send_tip(bot, staff.id, broadcast, staff.first_name)
    panel = await _panel(services, broadcast, replace=False)
    await bot.send_message(staff.id, panel.text, reply_markup=markup(panel.buttons))


async def _panel(services: Services, broadcast: Broadcast, *, replace: bool) -> Reply:
    """The chosen audience as it stands now (a segment may have emptied since)."""
    segment, broadcast_id = broadcast.segment, broadcast.id
    assert broadcast_id is not None
    counts, held = await services.db.run(
        lambda s: (repo.segment_counts(s), repo.held_back(s, segment))
    )
    return dialog.panel(
        broadcast_id,
        segment,
        counts.get(segment, 0),
        services.service_names,
        held=held,
        replace=replace,
    )


# --- the panel's buttons -----------------------------------------------------------------------


@dataclass(frozen=True)
class Pressed:
    """What a panel button did: the press's answer, the pressed message shown anew (`edit`),
    a message after it to the staff member (`then`), a draft to preview (`preview`), and
    whether the /broadcasts list is to be shown anew (`relist`). Everything but the answer
    comes after it, so the press is answered at once."""

    notice: Notice = field(default_factory=Notice)
    edit: Reply | None = None
    then: str | None = None
    preview: Broadcast | None = None
    relist: bool = False


@dataclass(frozen=True)
class Press:
    """One press of a broadcast's button, with who pressed it and on which message."""

    services: Services
    bot: ExtBot
    staff: TelegramUser  # who pressed: their id is also their private chat with the bot
    button: dialog.BroadcastPress
    message_id: int | None  # the pressed message (a panel becomes the status message)


async def pick_tip(press: Press) -> Pressed | None:
    """A ready tip from /tips: previewed as the staff member's new draft."""
    tip = find_tip(press.services.tips, press.button.argument or "")
    if tip is None:
        return None
    staff_id = press.staff.id
    draft = await press.services.db.run(
        lambda s: repo.new_draft(s, staff_id, status=BroadcastStatus.DRAFT, template=tip.text)
    )
    return Pressed(preview=draft)


async def show_audiences(press: Press) -> Pressed | None:
    if await _draft(press.services, press.button.broadcast_id, DRAFT) is None:
        return None
    counts = await press.services.db.run(repo.segment_counts)
    bid = press.button.broadcast_id
    return Pressed(edit=dialog.audience_choice(bid, counts, press.services.service_names))


async def choose_audience(press: Press) -> Pressed | None:
    counts = await press.services.db.run(repo.segment_counts)
    segment = dialog.segment_for_key(list(counts), press.button.argument or "")
    bid = press.button.broadcast_id
    if segment is None or not await press.services.db.run(
        lambda s: repo.move(s, bid, DRAFT, segment=segment)
    ):
        return None
    return await back_to_panel(press)


async def back_to_panel(press: Press) -> Pressed | None:
    draft = await _draft(press.services, press.button.broadcast_id, DRAFT)
    if draft is None:
        return None
    return Pressed(edit=await _panel(press.services, draft, replace=True))


async def confirm_send(press: Press) -> Pressed | None:
    """ "Send now" first asks: to how many clients, now (none: nothing to confirm)."""
    draft = await _draft(press.services, press.button.broadcast_id, DRAFT)
    if draft is None:
        return None
    segment = draft.segment
    count = len(await press.services.db.run(lambda s: repo.audience(s, segment)))
    if not count:
        return Pressed(Notice(labels.bc_nobody, alert=True))  # nothing to send: not started
    return Pressed(edit=dialog.confirm_send(press.button.broadcast_id, count))


async def send_now(press: Press) -> Pressed | None:
    """Create the deliveries now; the panel becomes the status message the broadcaster
    keeps up to date (it picks the broadcast up within a second)."""
    bid, now, panel = press.button.broadcast_id, press.services.clock(), press.message_id
    if not await press.services.db.run(
        lambda s: repo.start(s, bid, BroadcastStatus.DRAFT, now, panel)
    ):
        return None
    return Pressed(Notice(labels.bc_started))


async def ask_when(press: Press) -> Pressed | None:
    bid = press.button.broadcast_id
    if not await press.services.db.run(
        lambda s: repo.move(s, bid, DRAFT, status=BroadcastStatus.WHEN)
    ):
        return None
    zone = press.services.clinic.zone
    example = dialog.example_time(press.services.clock(), zone)
    return Pressed(edit=Reply(render("staff/ask_when", number=bid, zone=zone.key, example=example)))


async def edit(press: Press) -> Pressed | None:
    """Back to composing; the current text is sent so it can be copied and changed (as the
    staff member wrote it: Telegram shows the formatting and the placeholders)."""
    bid = press.button.broadcast_id
    draft = await _draft(press.services, bid, DRAFT)
    if draft is None or not await press.services.db.run(
        lambda s: repo.move(s, bid, DRAFT, status=BroadcastStatus.COMPOSE)
    ):
        return None
    written = draft.template if draft.template and draft.template.strip() else None
    return Pressed(
        edit=Reply(render("staff/ask_edit", number=bid)),
        then=to_telegram_html(written) if written else None,
    )


async def drop(press: Press) -> Pressed | None:
    bid, staff_id = press.button.broadcast_id, press.staff.id
    if await press.services.db.run(lambda s: repo.drop_draft(s, staff_id, bid)) is None:
        return None
    return Pressed(edit=Reply(render("staff/dropped", number=bid)))


async def stop(press: Press, cancel: Callable[[int], None]) -> Pressed | None:
    """Stop a broadcast that is sending, or cancel a planned one (from /broadcasts, where
    the list is shown again, updated). `cancel`: stops this replica's sending at once."""
    bid, now = press.button.broadcast_id, press.services.clock()
    if not await press.services.db.run(lambda s: repo.stop(s, bid, now)):
        return None
    cancel(bid)
    return Pressed(Notice(labels.bc_stopping), relist=press.button.action == "x")


ACTIONS: dict[str, Callable[[Press], Awaitable[Pressed | None]]] = {
    "tip": pick_tip,
    "aud": show_audiences,
    "seg": choose_audience,
    "back": back_to_panel,
    "send": confirm_send,
    "go": send_now,
    "when": ask_when,
    "edit": edit,
    "drop": drop,
}


async def _draft(services: Services, bid: int, statuses: tuple[str, ...]) -> Broadcast | None:
    row = await services.db.run(lambda s: s.get(Broadcast, bid))
    return row if row is not None and row.status in statuses else None
