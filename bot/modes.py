"""Every mode a chat can be in (what it waits for: `dialogs.awaiting.Awaiting`), with what it
does with a message typed (or a sticker, a photo) and what ends it. One entry per mode:
adding a mode is adding a member to `Awaiting` and one entry here (`tests/test_modes.py`
proves each has one). Crisis words and red flags are answered before any mode reads the
message (`bot.handlers.free_text`); `found` says whether they were.

A mode that waits for typed text ends when a command comes instead (its answer names what was
cancelled, before the command's own), unless the command is one that asks the same again; a
mode that waits for a tap ends with /cancel only. The self-check (ANSWER) is /cancel's own
(the engine's Cancel), and a conversation with the team ends when staff close it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram import Update

from bot.cases.chat import Chat
from bot.handlers.broadcast import cancel_draft, take_staff_message
from bot.handlers.common import backlog
from bot.handlers.conversation import run_and_deliver
from bot.handlers.human import relay_to_staff
from bot.handlers.inbox import cancel_reply, send_inbox_reply
from bot.handlers.reminders import answer_typed, stop_setup, typed_at_a_prompt
from bot.services import BotContext
from dialogs.awaiting import Awaiting
from dialogs.emergency import Findings
from dialogs.events import FaqAsked, Unexpected
from dialogs.render import render

Reader = Callable[[Update, BotContext, Chat, Findings, bool], Awaitable[None]]
Ender = Callable[[Update, BotContext], Awaitable[bool]]  # True: it ended, and said so


@dataclass(frozen=True)
class Mode:
    """`read` a message in this mode (`found`: crisis words or a red flag, answered already;
    `alerted`: those words alerted the team, which now has them). `end` it early, saying
    what was cancelled: with /cancel, or with any command if `any_command`, except those in
    `kept_by`, which ask the same again."""

    read: Reader
    end: Ender | None = None
    any_command: bool = False
    kept_by: frozenset[str] = field(default_factory=frozenset)


async def _unexpected(
    update: Update, context: BotContext, chat: Chat, found: Findings, alerted: bool
) -> None:
    """A reminder and the question (or the consent, or what the bot can do) again, after the
    last of a burst of stickers; a sticker, photo or voice note with no words gets its own."""
    message = update.effective_message
    if found or message is None or backlog(context, update) > 1:
        return
    await run_and_deliver(update, context, Unexpected(media=not (message.text or message.caption)))


async def _idle(
    update: Update, context: BotContext, chat: Chat, found: Findings, alerted: bool
) -> None:
    """Idle: a word a prompt's buttons stand for ("done", "stop") acts on the latest prompt;
    an everyday question the clinic answers (dialogs.faq) gets its answer; anything else a
    word on what the bot can do."""
    if not found and await typed_at_a_prompt(update, context):
        return
    await _everyday_question(update, context, chat, found, alerted)


async def _everyday_question(
    update: Update, context: BotContext, chat: Chat, found: Findings, alerted: bool
) -> None:
    """Outside the self-check: a question the clinic answers (dialogs.faq) gets its answer
    (a consent asked stays open above it); anything else what `_unexpected` says."""
    message = update.effective_message
    asked = context.services.content.faq.match(message.text) if message and message.text else None
    if asked is not None and not found:
        await run_and_deliver(update, context, FaqAsked(asked.id))
        return
    await _unexpected(update, context, chat, found, alerted)


async def _setup(
    update: Update, context: BotContext, chat: Chat, found: Findings, alerted: bool
) -> None:
    """The reminder setup's typed time zone or working hours, or a tap asked again."""
    if not found:
        await answer_typed(update, context, chat.awaiting)


async def _to_the_team(
    update: Update, context: BotContext, chat: Chat, found: Findings, alerted: bool
) -> None:
    """A conversation with the team: the words go on to them (a word for a prompt aside)."""
    assert chat.client is not None and chat.handoff is not None
    if found or not await typed_at_a_prompt(update, context, talking=True):
        await relay_to_staff(update, context, chat.client, chat.handoff, found, confirm=not alerted)


async def _staff_tip(
    update: Update, context: BotContext, chat: Chat, found: Findings, alerted: bool
) -> None:
    assert chat.draft is not None
    await take_staff_message(update, context, chat.draft)


async def _staff_panel(
    update: Update, context: BotContext, chat: Chat, found: Findings, alerted: bool
) -> None:
    """A tip previewed, its panel waiting for a tap: typed text is no part of it."""
    message = update.effective_message
    if message is not None and chat.draft is not None and backlog(context, update) <= 1:
        await message.reply_text(render("staff/panel_waiting", number=chat.draft.id))


async def _staff_reply(
    update: Update, context: BotContext, chat: Chat, found: Findings, alerted: bool
) -> None:
    assert chat.reply is not None
    await send_inbox_reply(update, context, chat.reply)


async def _staff_stray(
    update: Update, context: BotContext, chat: Chat, found: Findings, alerted: bool
) -> None:
    message = update.effective_message
    if message is not None and backlog(context, update) <= 1:
        await message.reply_text(render("staff/stray"))


_SETUP_AGAIN = frozenset({"reminders"})  # /reminders mid-setup starts it again, as chosen

MODES: dict[Awaiting, Mode] = {
    Awaiting.NOTHING: Mode(_idle),
    Awaiting.CONSENT: Mode(_everyday_question),
    Awaiting.ANSWER: Mode(_unexpected),
    Awaiting.ZONE: Mode(_setup, stop_setup, any_command=True, kept_by=_SETUP_AGAIN),
    Awaiting.HOURS: Mode(_setup, stop_setup, any_command=True, kept_by=_SETUP_AGAIN),
    Awaiting.SETUP: Mode(_setup, stop_setup),
    Awaiting.CONVERSATION: Mode(_to_the_team),
    Awaiting.STAFF_TIP: Mode(_staff_tip, cancel_draft, any_command=True),
    Awaiting.STAFF_PANEL: Mode(_staff_panel, cancel_draft),
    Awaiting.STAFF_REPLY: Mode(_staff_reply, cancel_reply, any_command=True),
    Awaiting.STAFF_IDLE: Mode(_staff_stray),
}


def ends(mode: Mode, command: str) -> bool:
    """Whether this command ends the mode (before the command does its own work)."""
    if mode.end is None or command in mode.kept_by:
        return False
    return command == "cancel" or mode.any_command
