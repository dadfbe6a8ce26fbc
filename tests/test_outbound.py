"""The outbound governor against the emulator with Telegram's flood limits on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram.error import Forbidden
from telegram.ext import ExtBot

from bot.outbound import BULK, Governor
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.flood import FloodLimits
from bot.sandbox.users import SimUser


async def make_bot(emulator: BotApiEmulator, governor: Governor) -> ExtBot:
    bot = ExtBot(emulator.token, base_url=f"{emulator.base_url}/bot", rate_limiter=governor)
    await bot.initialize()
    return bot


@pytest.fixture
async def people(emulator: BotApiEmulator) -> AsyncIterator[list[SimUser]]:
    users = [SimUser(emulator, 10_000 + i, f"P{i}") for i in range(80)]
    for user in users:
        await user.send("/start")
    yield users


async def test_stays_within_the_budget(emulator: BotApiEmulator, people: list[SimUser]) -> None:
    governor = Governor(rate=30)
    bot = await make_bot(emulator, governor)
    try:
        await asyncio.gather(*(bot.send_message(p.id, "hi", rate_limit_args=BULK) for p in people))
    finally:
        await bot.shutdown()
    assert governor.retries == 0
    assert all(len(p.bot_messages()) == 1 for p in people)


@pytest.mark.parametrize("flood_limits", [FloodLimits(overall_rate=10, overall_burst=5)])
async def test_a_429_pauses_and_retries_without_losing_or_doubling(
    emulator: BotApiEmulator, people: list[SimUser]
) -> None:
    governor = Governor(rate=50)  # misconfigured: faster than Telegram allows
    bot = await make_bot(emulator, governor)
    try:
        await asyncio.gather(*(bot.send_message(p.id, "hi") for p in people[:20]))
    finally:
        await bot.shutdown()
    assert governor.retries > 0
    assert {(e.method, e.code) for e in emulator.errors} == {("sendMessage", 429)}
    assert [len(p.bot_messages()) for p in people[:20]] == [1] * 20
    emulator.errors.clear()


async def test_replies_overtake_a_bulk_queue(
    emulator: BotApiEmulator, people: list[SimUser]
) -> None:
    governor = Governor(rate=30)
    bot = await make_bot(emulator, governor)
    bulk, chatting = people[:70], people[70:75]
    try:
        queue = asyncio.gather(*(bot.send_message(p.id, "tip", rate_limit_args=BULK) for p in bulk))
        while sum(1 for p in bulk if p.chat.actions) < 10:
            await emulator.changed(1.0)
        await asyncio.gather(*(bot.send_message(p.id, "reply") for p in chatting))
        replied_at = emulator.seq_now
        await queue
    finally:
        await bot.shutdown()
    bulk_before_replies = sum(1 for p in bulk if p.chat.actions[0].seq < replied_at)
    # In one queue the replies would come after all 70; with lanes they overtake most.
    assert bulk_before_replies < 50, "the replies waited for the bulk queue"


async def test_a_403_reports_the_blocked_chat(
    emulator: BotApiEmulator, people: list[SimUser]
) -> None:
    governor = Governor(rate=30)
    blocked: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        blocked.append(chat_id)

    governor.on_blocked = on_blocked
    bot = await make_bot(emulator, governor)
    await people[0].block()
    try:
        with pytest.raises(Forbidden):
            await bot.send_message(people[0].id, "hi")
    finally:
        await bot.shutdown()
    assert blocked == [people[0].id]
    assert [(e.method, e.code) for e in emulator.errors] == [("sendMessage", 403)]
    emulator.errors.clear()


@pytest.mark.parametrize("flood_limits", [FloodLimits(chat_rate=1, chat_burst=3)])
async def test_a_chats_own_429_pauses_only_that_chat(
    emulator: BotApiEmulator, people: list[SimUser]
) -> None:
    governor = Governor(rate=30, chat_burst=10)  # misconfigured: more than Telegram allows
    bot = await make_bot(emulator, governor)
    busy, other = people[0], people[1]
    try:
        burst = asyncio.gather(*(bot.send_message(busy.id, f"m{i}") for i in range(6)))
        while not emulator.errors:
            await emulator.changed(1.0)
        await bot.send_message(other.id, "not held up")
        sent_other = emulator.seq_now
        await burst
    finally:
        await bot.shutdown()
    assert governor.retries > 0
    held_back = [a for a in busy.chat.actions if a.seq > sent_other]
    assert held_back, "the busy chat waited out its own 429 while the other chat went on"
    assert len(busy.bot_messages()) == 6
    refused = {(e.method, e.code, int(e.params["chat_id"])) for e in emulator.errors}
    assert refused == {("sendMessage", 429, busy.id)}, "only the busy chat's own limit"
    emulator.errors.clear()


@pytest.mark.parametrize("flood_limits", [FloodLimits(chat_rate=100, chat_burst=100)])
async def test_a_flooded_chat_waits_behind_everyone_elses_replies(
    emulator: BotApiEmulator, people: list[SimUser]
) -> None:
    """Someone who keeps the bot busy (here 20 replies queued for one chat) cannot make the
    other clients' replies wait behind theirs."""
    governor = Governor(rate=4, chat_rate=100, chat_burst=100)
    bot = await make_bot(emulator, governor)
    flooder, others = people[0], people[1:4]
    try:
        flood = asyncio.gather(*(bot.send_message(flooder.id, f"m{i}") for i in range(20)))
        while len(flooder.bot_messages()) < 8:
            await emulator.changed(1.0)
        replies = asyncio.gather(*(bot.send_message(p.id, "your reply") for p in others))
        await replies
        answered_at = emulator.seq_now
        await flood
    finally:
        await bot.shutdown()
    after = [a for a in flooder.chat.actions if a.seq > answered_at]
    assert len(after) >= 8, "the other clients' replies waited behind the flood"
    assert len(flooder.bot_messages()) == 20


async def test_a_429_on_an_edit_pauses_only_that_chats_edits(
    emulator: BotApiEmulator, people: list[SimUser]
) -> None:
    """Telegram also limits frequent edits: the edit waits as told and goes through, while
    everyone else's messages (and that chat's new ones) carry on."""
    governor = Governor(rate=30)
    bot = await make_bot(emulator, governor)
    edited, other = people[0], people[1]
    try:
        status = await bot.send_message(edited.id, "Sending: 10%")
        emulator.faults.inject("limit", "editMessageText", retry_after=2)
        edit = asyncio.create_task(bot.edit_message_text("Sending: 20%", edited.id, status.id))
        while not emulator.faults.injected:
            await emulator.changed(0.05)
        await asyncio.gather(
            bot.send_message(other.id, "not held up"), bot.send_message(edited.id, "nor this")
        )
        sent_meanwhile = emulator.seq_now
        await edit
    finally:
        await bot.shutdown()
    assert edited.chat.messages[status.id].text == "Sending: 20%"
    assert edited.chat.actions[-1].kind == "edit", "the edit waited out its 429..."
    assert edited.chat.actions[-1].seq > sent_meanwhile, "...while both sends went on"
    assert emulator.faults.injected == [("editMessageText", "limit")]
    assert governor.retries == 1


@pytest.mark.parametrize("flood_limits", [FloodLimits(overall_rate=6, overall_burst=6)])
async def test_a_share_left_to_other_replicas_slows_this_ones_bulk_sends(
    emulator: BotApiEmulator, people: list[SimUser]
) -> None:
    """Another replica replies at 24 messages a second: this one's tips keep to the 6 a
    second that are left of Telegram's 30 (rate and burst), instead of taking all 30. Here
    Telegram allows only those 6 a second (and 6 at once): it must refuse nothing."""
    governor = Governor(rate=30)
    governor.share(24)
    bot = await make_bot(emulator, governor)
    try:
        await asyncio.gather(
            *(bot.send_message(p.id, "tip", rate_limit_args=BULK) for p in people[:30])
        )
    finally:
        await bot.shutdown()
    # Taking all 30 a second (or a burst of 27) would meet 429s from the lowered limit; the
    # emulator fixture checks that it refused nothing.
    assert governor.retries == 0
    assert [len(p.bot_messages()) for p in people[:30]] == [1] * 30
