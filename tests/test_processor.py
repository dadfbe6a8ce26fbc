"""Per-chat ordering without letting one chat's queue take everyone's slots."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update

from bot.processor import PerChatUpdateProcessor


def update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, None, chat))  # type: ignore[arg-type]


async def test_a_chats_queue_waits_without_taking_the_shared_slots() -> None:
    processor = PerChatUpdateProcessor(slots=2)
    release = asyncio.Event()
    order: list[str] = []

    async def handle(name: str, block: bool) -> None:
        order.append(f"start {name}")
        if block:
            await release.wait()
        order.append(f"end {name}")

    flood = [
        asyncio.create_task(processor.process_update(update(i, 1), handle(f"a{i}", True)))
        for i in range(10)
    ]
    await asyncio.sleep(0.05)
    assert processor.backlog(1) == 10
    other = asyncio.create_task(processor.process_update(update(99, 2), handle("b", False)))
    await asyncio.wait_for(other, 1)  # chat 2 is served while chat 1 still waits
    release.set()
    await asyncio.gather(*flood)
    a_events = [e for e in order if e.split()[1].startswith("a")]
    assert a_events == [f"{step} a{i}" for i in range(10) for step in ("start", "end")]
    assert processor.backlog(1) == 0
