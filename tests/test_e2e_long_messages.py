"""Long messages in a hand-off, end to end: nothing either side writes is cut. A text too long
for one Telegram message once framed goes as consecutive messages, every word of it."""

from __future__ import annotations

from typing import Any

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator, Message
from bot.sandbox.users import SimUser
from dialogs.render import labels
from storage.models import Handoff
from tests.conftest import STAFF_CHAT_ID
from tests.flows import rows, settled
from tests.test_e2e_human import hand_off


def long_text(tag: str, length: int) -> str:
    """At most `length` characters (nearly all of them) of numbered words in paragraphs and
    lines, with characters the HTML framing has to escape, so every word can be found again
    in order."""
    words: list[str] = []
    for n in range(1, length // 5):
        word = f"{tag}{n:04d}"
        words.append(f"<{word}>&" if n % 9 == 0 else word)
        words.append("\n\n" if n % 40 == 0 else "\n" if n % 13 == 0 else " ")
    text = "".join(words)[:length]
    return text[: text.rindex(" ")].rstrip()  # whole words only


def body(post: str, head: str, tail: str = "") -> str:
    """The words in a framed message: after its heading line, before its footer."""
    start = post.index(head)
    text = post[post.index(":\n", start) + 2 :]
    return text[: text.rindex(tail)] if tail else text


def bot_messages(emulator: BotApiEmulator, chat_id: int, after: int) -> list[Message]:
    chat = emulator.chats[chat_id]
    return [m for m in chat.messages.values() if m.from_bot and m.message_id > after]


async def test_a_long_burst_from_a_client_reaches_staff_whole(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    request = await hand_off(alice, emulator)
    group = emulator.chats[STAFF_CHAT_ID]
    sent: list[dict[str, Any]] = []
    emulator.on_call = lambda method, params: sent.append(params)
    first, second = long_text("a", 4000), long_text("b", 3000)
    assert 3900 <= len(first) <= 4096 and len(second) >= 2900
    try:
        await alice.send(first)
        await alice.send(second)  # within RELAY_MERGE: one burst, merged
        await alice.expect("Passed on to the clinic team", timeout=15)
        await alice.settle(1.5)
    finally:
        emulator.on_call = None

    posts = bot_messages(emulator, STAFF_CHAT_ID, request.message_id)
    texts = [p.text or "" for p in posts]
    assert len(posts) >= 2 and all(len(t) <= 4096 for t in texts)
    assert all(f"(part {n} of {len(posts)})" in t for n, t in enumerate(texts, 1)), texts
    joined = " ".join(body(t, "Alice", "\n\nReply to this message") for t in texts)
    assert joined.split() == first.split() + second.split(), "every word, in order"
    replied = [p["reply_parameters"]["message_id"] for p in sent if "writes" in str(p.get("text"))]
    assert replied == [request.message_id] * len(posts), "every part under the request post"
    assert sum("Passed on" in (m.text or "") for m in alice.bot_messages()) == 1

    # Each part is kept like a single post: staff can answer any, and /delete removes them all.
    relays = {h.staff_message_id for h in await rows(bot, Handoff) if h.kind == "relay"}
    assert {p.message_id for p in posts} <= relays
    await staff.send("Read every word, thanks.", chat=group, reply_to=posts[-1])
    await alice.expect("Read every word, thanks.")
    await staff.expect("Delivered to Alice", chat=group)
    await alice.send("/delete")
    await alice.expect("Delete everything?")
    await alice.tap(labels.delete_yes)
    await alice.expect("has been deleted")
    await settled(emulator, lambda: all(p.deleted for p in posts))
    assert all(p.deleted for p in posts) and request.deleted


async def test_a_staff_reply_the_framing_would_overflow_reaches_the_client_whole(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    request = await hand_off(alice, emulator)
    group = emulator.chats[STAFF_CHAT_ID]
    before = max(m.message_id for m in alice.chat.messages.values())
    reply = long_text("s", 4096)  # as long as a Telegram message can be
    assert len(reply) > 4096 - len("💬 Sam from BodyMechanix:\n")
    await staff.send(reply, chat=group, reply_to=request)
    await staff.expect("Delivered to Alice", chat=group, timeout=15)
    await alice.settle(1.0)

    received = [m.text or "" for m in bot_messages(emulator, alice.chat.id, before)]
    assert len(received) == 2 and all(len(t) <= 4096 for t in received)
    assert "(part 1 of 2)" in received[0] and "(part 2 of 2)" in received[1]
    joined = " ".join(body(t, "Sam from BodyMechanix") for t in received)
    assert joined.split() == reply.split(), "every word, in order"
    delivered = [m for m in group.messages.values() if "Delivered to Alice" in (m.text or "")]
    assert len(delivered) == 1
