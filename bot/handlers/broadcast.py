"""Staff broadcasts: /broadcast, /tips, /broadcasts, the preview panel and its buttons; and the
clients' side of tips (the unsubscribe button).

The commands are registered for STAFF_IDS only; every button press is checked again here
(a client replaying a staff button's data gets "out of date" and nothing else). A staff
member has at most one tip in the making, a Broadcast row: `compose` waits for the text,
`when` for a typed date and time, `draft` has been previewed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from asyncio.subprocess import DEVNULL, PIPE

from sqlmodel import Session
from telegram import CallbackQuery, Message, Update
from telegram.error import TelegramError

from bot.broadcaster import send_tip
from bot.handlers.common import chat_id, telegram_user
from bot.handlers.privacy import switch_consent
from bot.replies import edit_pressed, markup
from bot.services import BotContext, Services
from dialogs import broadcasts as dialog
from dialogs.render import labels, render
from dialogs.replies import Button, Reply
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

SHOWN_IN_LIST = 10
log = logging.getLogger(__name__)


# --- commands ----------------------------------------------------------------------------------


async def on_broadcast(update: Update, context: BotContext) -> None:
    """/broadcast: ask for the tip."""
    staff_id = telegram_user(update).id
    await context.services.db.run(lambda s: repo.new_draft(s, staff_id))
    await _message(update).reply_text(render("staff/ask_tip"))


async def on_tips(update: Update, context: BotContext) -> None:
    """/tips: the library of ready tips, one button each."""
    buttons = tuple(
        (Button(tip.title, dialog.BroadcastPress("tip", 0, tip.id)),)
        for tip in context.services.tips
    )
    await _message(update).reply_text(render("staff/tips"), reply_markup=markup(buttons))


async def on_broadcasts(update: Update, context: BotContext) -> None:
    """/broadcasts: recent and planned broadcasts with their figures."""
    reply = await _listing(context.services)
    await _message(update).reply_text(reply.text, reply_markup=markup(reply.buttons))


async def take_staff_message(update: Update, context: BotContext, draft: Broadcast) -> None:
    """A staff member's message while their tip (or its time) is awaited. An edit of a
    message is not taken (the preview would no longer match): they are told."""
    message = update.effective_message
    assert message is not None
    if update.edited_message:
        await message.reply_text(render("staff/edit_not_taken"))
    elif draft.status == BroadcastStatus.COMPOSE:
        await _take_tip(message, context, draft)
    else:
        await _take_when(message, context, draft)


async def cancel_draft(update: Update, context: BotContext) -> bool:
    """/cancel from a staff member with a tip in the making: drop it. False: none."""
    user = update.effective_user
    if user is None or not context.services.is_staff(user.id):
        return False

    number = await context.services.db.run(lambda s: repo.drop_draft(s, user.id))
    if number is None:
        return False
    await _message(update).reply_text(render("staff/dropped", number=number))
    return True


# --- composing ---------------------------------------------------------------------------------


async def _take_tip(message: Message, context: BotContext, draft: Broadcast) -> None:
    if message.photo:
        source, photo = message.caption_html or "", message.photo[-1].file_id
    elif message.text:
        source, photo = message.text_html, None
    else:
        await message.reply_text(render("staff/tip_unsupported"))
        return
    template = from_telegram_html(source)
    if template.strip() or photo is None:  # a photo may go without a caption
        name = message.from_user.first_name  # type: ignore[union-attr]
        problem = await _check_tip(template, name, caption=photo is not None)
        if problem is not None:
            await message.reply_text(render("staff/tip_problem", error=problem))
            return
    bid: int = draft.id  # type: ignore[assignment]
    saved = await context.services.db.run(lambda s: repo.save_tip(s, bid, template, photo))
    if saved is not None:
        await _preview(context, message.chat_id, saved, message.from_user.first_name)  # type: ignore[union-attr]


async def _check_tip(template: str, first_name: str, *, caption: bool) -> TipError | None:
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


async def _preview(
    context: BotContext, staff_chat: int, broadcast: Broadcast, first_name: str
) -> None:
    """The tip exactly as a client gets it (with the staff member's name), then the panel."""
    await context.bot.send_message(staff_chat, render("staff/preview_intro", number=broadcast.id))
    await send_tip(context.bot, staff_chat, broadcast, first_name)
    reply = await _panel(context.services, broadcast, replace=False)
    await context.bot.send_message(staff_chat, reply.text, reply_markup=markup(reply.buttons))


async def _panel(services: Services, broadcast: Broadcast, *, replace: bool) -> Reply:
    """The chosen audience as it stands now (a segment may have emptied since)."""
    segment = broadcast.segment
    counts, held = await services.db.run(
        lambda s: (repo.segment_counts(s), repo.held_back(s, segment))
    )
    return dialog.panel(
        broadcast.id,  # type: ignore[arg-type]
        broadcast.segment,
        counts.get(broadcast.segment, 0),
        services.service_names,
        held=held,
        replace=replace,
    )


async def _take_when(message: Message, context: BotContext, draft: Broadcast) -> None:
    services = context.services
    zone = services.settings.clinic_zone
    now = services.clock()
    example = dialog.example_time(now, zone)
    moment = dialog.parse_when(message.text or "", now, zone)
    problem = dialog.when_problem(moment, now)
    if problem is not None:
        await message.reply_text(render(problem, zone=zone.key, example=example))
        return
    bid: int = draft.id  # type: ignore[assignment]
    planned = await services.db.run(
        lambda s: repo.move(
            s, bid, (BroadcastStatus.WHEN,), status=BroadcastStatus.SCHEDULED, scheduled_at=moment
        )
    )
    if planned:
        await message.reply_text(
            render(
                "staff/scheduled",
                number=bid,
                at=dialog.local_time(moment, zone),  # type: ignore[arg-type]
                zone=zone.key,
                audience=dialog.segment_label(draft.segment, services.service_names),
            )
        )


# --- buttons -----------------------------------------------------------------------------------


async def on_press(update: Update, context: BotContext, press: dialog.BroadcastPress) -> None:
    """A staff button of a broadcast: done only while the broadcast is in a fitting state."""
    query = update.callback_query
    assert query is not None
    done = await _ACTIONS[press.action](query, context, press)
    if not done:
        await query.answer(labels.stale)


async def _pick_tip(
    query: CallbackQuery, context: BotContext, press: dialog.BroadcastPress
) -> bool:
    tip = find_tip(context.services.tips, press.argument or "")
    if tip is None:
        return False
    staff_id = query.from_user.id
    draft = await context.services.db.run(
        lambda s: repo.new_draft(s, staff_id, status=BroadcastStatus.DRAFT, template=tip.text)
    )
    await query.answer()
    await _preview(context, query.from_user.id, draft, query.from_user.first_name)
    return True


async def _show_audiences(
    query: CallbackQuery, context: BotContext, press: dialog.BroadcastPress
) -> bool:
    draft = await _draft(context, press.broadcast_id, (BroadcastStatus.DRAFT,))
    if draft is None:
        return False
    counts = await context.services.db.run(repo.segment_counts)
    reply = dialog.audience_choice(press.broadcast_id, counts, context.services.service_names)
    await query.answer()
    await edit_pressed(query, reply.text, markup(reply.buttons))
    return True


async def _choose_audience(
    query: CallbackQuery, context: BotContext, press: dialog.BroadcastPress
) -> bool:
    counts = await context.services.db.run(repo.segment_counts)
    segment = dialog.segment_for_key(list(counts), press.argument or "")
    if segment is None:
        return False
    if not await context.services.db.run(
        lambda s: repo.move(s, press.broadcast_id, (BroadcastStatus.DRAFT,), segment=segment)
    ):
        return False
    return await _back_to_panel(query, context, press)


async def _back_to_panel(
    query: CallbackQuery, context: BotContext, press: dialog.BroadcastPress
) -> bool:
    draft = await _draft(context, press.broadcast_id, (BroadcastStatus.DRAFT,))
    if draft is None:
        return False
    reply = await _panel(context.services, draft, replace=True)
    await query.answer()
    await edit_pressed(query, reply.text, markup(reply.buttons))
    return True


async def _confirm_send(
    query: CallbackQuery, context: BotContext, press: dialog.BroadcastPress
) -> bool:
    """ "Send now" first asks: to how many clients, now (none: nothing to confirm)."""
    draft = await _draft(context, press.broadcast_id, (BroadcastStatus.DRAFT,))
    if draft is None:
        return False
    segment = draft.segment
    count = len(await context.services.db.run(lambda s: repo.audience(s, segment)))
    if not count:
        await query.answer(labels.bc_nobody, show_alert=True)  # nothing to send: not started
        return True
    reply = dialog.confirm_send(press.broadcast_id, count)
    await query.answer()
    await edit_pressed(query, reply.text, markup(reply.buttons))
    return True


async def _send_now(
    query: CallbackQuery, context: BotContext, press: dialog.BroadcastPress
) -> bool:
    """Create the deliveries now; the panel becomes the status message the broadcaster
    keeps up to date (it picks the broadcast up within a second)."""
    services = context.services
    bid = press.broadcast_id
    now = services.clock()
    panel_id = query.message.message_id if query.message else None
    if not await services.db.run(
        lambda s: repo.start(s, bid, BroadcastStatus.DRAFT, now, panel_id)
    ):
        return False
    await query.answer(labels.bc_started)
    return True


async def _ask_when(
    query: CallbackQuery, context: BotContext, press: dialog.BroadcastPress
) -> bool:
    services = context.services
    bid = press.broadcast_id
    if not await services.db.run(
        lambda s: repo.move(s, bid, (BroadcastStatus.DRAFT,), status=BroadcastStatus.WHEN)
    ):
        return False
    zone = services.settings.clinic_zone
    text = render(
        "staff/ask_when",
        number=press.broadcast_id,
        zone=zone.key,
        example=dialog.example_time(services.clock(), zone),
    )
    await query.answer()
    await edit_pressed(query, text)
    return True


async def _edit(query: CallbackQuery, context: BotContext, press: dialog.BroadcastPress) -> bool:
    """Back to composing; the current text is sent so it can be copied and changed."""
    bid = press.broadcast_id
    draft = await _draft(context, bid, (BroadcastStatus.DRAFT,))
    if draft is None or not await context.services.db.run(
        lambda s: repo.move(s, bid, (BroadcastStatus.DRAFT,), status=BroadcastStatus.COMPOSE)
    ):
        return False
    await query.answer()
    await edit_pressed(query, render("staff/ask_edit", number=bid))
    if draft.template and draft.template.strip():
        # As the staff member wrote it: Telegram shows the formatting and the placeholders.
        await context.bot.send_message(query.from_user.id, to_telegram_html(draft.template))
    return True


async def _drop(query: CallbackQuery, context: BotContext, press: dialog.BroadcastPress) -> bool:
    bid = press.broadcast_id
    staff_id = query.from_user.id
    if await context.services.db.run(lambda s: repo.drop_draft(s, staff_id, bid)) is None:
        return False
    await query.answer()
    await edit_pressed(query, render("staff/dropped", number=bid))
    return True


async def _stop(query: CallbackQuery, context: BotContext, press: dialog.BroadcastPress) -> bool:
    """Stop a broadcast that is sending, or cancel a planned one (from /broadcasts)."""
    bid = press.broadcast_id
    now = context.services.clock()
    if not await context.services.db.run(lambda s: repo.stop(s, bid, now)):
        return False
    broadcaster = context.application.bot_data.get("broadcaster")
    if broadcaster is not None:
        broadcaster.cancel(bid)
    await query.answer(labels.bc_stopping)
    if press.action == "x":  # pressed in the /broadcasts list: show it again, updated
        with contextlib.suppress(TelegramError):
            listing = await _listing(context.services)
            await edit_pressed(query, listing.text, markup(listing.buttons))
    return True


_ACTIONS = {
    "tip": _pick_tip,
    "aud": _show_audiences,
    "seg": _choose_audience,
    "back": _back_to_panel,
    "send": _confirm_send,
    "go": _send_now,
    "when": _ask_when,
    "edit": _edit,
    "drop": _drop,
    "stop": _stop,
    "x": _stop,
}


# --- the clients' side -------------------------------------------------------------------------


async def on_unsubscribe(update: Update, context: BotContext, _: dialog.Unsubscribe) -> None:
    """The "Unsubscribe from tips" button under every tip (and under a staff preview, where it
    only says what it does for clients)."""
    query = update.callback_query
    assert query is not None
    if context.services.is_staff(query.from_user.id):
        await query.answer(labels.tips_preview_unsubscribe, show_alert=True)
        return
    client, changed = await switch_consent(context, update, "tips", False)
    if client is None or not changed:
        await query.answer(labels.tips_already_off if client else labels.stale)
        return
    await query.answer(labels.tips_unsubscribed)
    with contextlib.suppress(TelegramError):  # the tip stays; its button goes
        await query.edit_message_reply_markup(None)
    await context.bot.send_message(
        chat_id(update), render("tips_switched", known=True, agree=False)
    )


# --- helpers -----------------------------------------------------------------------------------


async def _draft(context: BotContext, bid: int, statuses: tuple[str, ...]) -> Broadcast | None:
    row = await context.services.db.run(lambda s: s.get(Broadcast, bid))
    return row if row is not None and row.status in statuses else None


async def _listing(services: Services) -> Reply:
    def load(session: Session) -> list[dialog.Listed]:
        items = repo.recent(session, SHOWN_IN_LIST)
        figures = repo.figures(session, [b.id for b in items])  # type: ignore[misc]
        return [
            dialog.Listed(
                b.id,  # type: ignore[arg-type]
                b.status,
                b.segment,
                b.template,
                b.scheduled_at,
                b.started_at,
                figures[b.id],  # type: ignore[index]
            )
            for b in items
        ]

    items = await services.db.run(load)
    return dialog.listing(items, services.settings.clinic_zone, services.service_names)


def _message(update: Update) -> Message:
    assert update.effective_message is not None
    return update.effective_message
