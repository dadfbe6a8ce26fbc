"""Staff powers, proven where they are enforced: the real bot against the emulator.

Only STAFF_IDS have the staff commands, in their menu too; to anyone else the commands are
unknown. A client who presses staff buttons gets "out of date" and nothing changes, and these
tests press them the hard way: on the staff member's own messages, which really carry them
(so the generic forged-press filter lets them through), and on messages too old for Telegram
to include (an InaccessibleMessage: nothing to compare the data with). What stops those is
the staff check in the broadcast handler itself; without it, these tests fail.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from bot.runner import RunningBot
from bot.sandbox.emulator import MESSAGE_ACCESSIBLE_FOR, BotApiEmulator, CallbackQuery, Message
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs import broadcasts as dialog
from dialogs.callbacks import decode, encode
from dialogs.render import labels
from storage.models import Broadcast, Client, Delivery
from tests.conftest import STAFF_CHAT_ID
from tests.flows import rows, seed_clients, start_and_consent
from tests.test_e2e_broadcast import compose, send_now, tips_of, wait_done
from tests.test_e2e_human import hand_off

STAFF_COMMANDS = {"broadcast", "broadcasts", "tips", "stats"}
TOO_OLD = MESSAGE_ACCESSIBLE_FOR + 3600  # seconds: Telegram sends such a message without it


def names(menu: list[dict[str, str]]) -> set[str]:
    return {c["command"] for c in menu}


async def press(user: SimUser, message: Message, data: str) -> CallbackQuery:
    """`user` presses a button with `data` on `message`, wherever it is, as Telegram would
    send it (with the message, or without it if it is too old); returns the answered query."""
    user.mark()
    query = user.emulator.press(user.user, message, data)
    deadline = time.monotonic() + 5.0
    while query.answer is None and time.monotonic() < deadline:
        await user.emulator.changed(0.2)
    return query


async def refused(user: SimUser, message: Message, data: str) -> None:
    """A press the bot must answer "out of date", and do nothing else."""
    query = await press(user, message, data)
    answer = (query.answer or {}).get("text")
    assert answer == labels.stale, f"{data!r} pressed by {user.id}: answered {query.answer}"


async def snapshot(bot: RunningBot, *people: SimUser) -> tuple[Any, ...]:
    """Every broadcast and delivery as stored, and every message in these people's chats as
    it shows now (text and buttons): what a refused press must leave exactly as it was."""
    broadcasts = [b.model_dump() for b in await rows(bot, Broadcast, Broadcast.id)]
    deliveries = [d.model_dump() for d in await rows(bot, Delivery, Delivery.id)]
    chats = [
        [
            (m.message_id, m.shown_text, copy.deepcopy(m.reply_markup), m.deleted)
            for m in person.chat.messages.values()
        ]
        for person in people
    ]
    return broadcasts, deliveries, chats


async def quiet(*people: SimUser) -> None:
    """Nothing sent or edited in these chats since each person's last action."""
    for person in people:
        await person.expect_silence(0.4)


# --- command menus and commands ----------------------------------------------------------------


async def test_a_clients_menu_has_no_staff_command_and_the_staff_members_has_them_all(
    bot: RunningBot, emulator: BotApiEmulator, staff: SimUser, alice: SimUser
) -> None:
    client = names(emulator.menu_for(alice.id))
    own = names(emulator.menu_for(staff.id))
    assert {"start", "help", "delete"} <= client
    assert not client & STAFF_COMMANDS, f"staff commands in a client's menu: {client}"
    assert own >= STAFF_COMMANDS, f"the staff member's menu lacks {STAFF_COMMANDS - own}"
    assert client <= own, "staff keep the client commands too"
    # Any client, whatever the app's language; and in the staff group, admin or not.
    stranger = SimUser(emulator, 5999, "Zed", language_code="de")
    assert not names(emulator.menu_for(stranger.id)) & STAFF_COMMANDS
    for admin in (False, True):
        in_group = names(emulator.menu_for(alice.id, chat_id=STAFF_CHAT_ID, admin=admin))
        assert not in_group & STAFF_COMMANDS


async def test_staff_commands_are_unknown_to_a_client_and_answer_the_staff_member(
    bot: RunningBot, emulator: BotApiEmulator, staff: SimUser, alice: SimUser
) -> None:
    await start_and_consent(alice)
    await alice.send("/teleport")
    # Its text now: the copy itself is edited once the question is asked again below.
    unknown = (await alice.expect("Please use the buttons")).text
    for command in sorted(STAFF_COMMANDS):
        await alice.send(f"/{command}")
        answer = await alice.expect("Please use the buttons")
        assert answer.text == unknown, f"/{command}: the same answer as any unknown command"
    assert await rows(bot, Broadcast) == []
    # Each command in the staff member's menu does something for them (/broadcast last: it
    # waits for a tip).
    listed = names(emulator.menu_for(staff.id))
    for command in [c for c in ("stats", "broadcasts", "tips", "broadcast") if c in listed]:
        await staff.send(f"/{command}")
        reply = (await staff.next_action()).message.shown_text
        assert reply and "Please use the buttons" not in reply, f"/{command}: {reply[:80]!r}"
    await staff.send("/cancel")  # /broadcast left a tip in the making
    await staff.expect("Nothing was sent")


# --- staff buttons pressed by a client ---------------------------------------------------------


async def test_a_client_pressing_the_staff_members_own_buttons_changes_nothing(
    bot: RunningBot, staff: SimUser, alice: SimUser
) -> None:
    """The library, the panel, the audience choice and the /broadcasts list, each pressed by
    a client on the staff member's message itself: the data is really on it."""
    await start_and_consent(alice)  # said yes to tips: anything sent would reach her
    await staff.send("/tips")
    library = await staff.expect("Ready tips")
    panel = await compose(staff)
    assert "1 client" in panel.text
    before = await snapshot(bot, staff, alice)
    for message in (library, panel):
        for button in list(message.flat_buttons):
            await refused(alice, message, button["callback_data"])
    await quiet(staff, alice)
    assert await snapshot(bot, staff, alice) == before
    assert [b.status for b in await rows(bot, Broadcast)] == ["draft"]

    await staff.tap(labels.bc_audience)
    choice = await staff.expect("who should get it")
    before = await snapshot(bot, staff, alice)
    for button in list(choice.flat_buttons):
        await refused(alice, choice, button["callback_data"])
    await quiet(staff, alice)
    assert await snapshot(bot, staff, alice) == before

    await staff.tap(labels.back)
    await staff.expect("Audience:")
    await staff.tap(labels.bc_schedule)
    await staff.expect("When should tip #1 go out")
    await staff.send("tomorrow 12:00")
    await staff.expect("is scheduled")
    await staff.send("/broadcasts")
    listing = await staff.expect("Recent broadcasts")
    assert listing.flat_buttons, "a planned tip can be cancelled from the list"
    before = await snapshot(bot, staff, alice)
    for button in list(listing.flat_buttons):
        await refused(alice, listing, button["callback_data"])
    await quiet(staff, alice)
    assert await snapshot(bot, staff, alice) == before
    assert [b.status for b in await rows(bot, Broadcast)] == ["scheduled"]
    # The same button works for the staff member: the refusal was about who pressed it.
    await staff.tap(labels.bc_cancel_planned.format(number=1))
    await staff.expect("cancelled")
    assert [b.status for b in await rows(bot, Broadcast)] == ["cancelled"]
    assert tips_of(alice) == []


async def test_a_client_pressing_staff_data_on_messages_too_old_to_include_changes_nothing(
    bot: RunningBot, staff: SimUser, alice: SimUser
) -> None:
    """Past 48 hours Telegram sends a press without its message (an InaccessibleMessage), so
    nobody can tell whether the data was on it: only the handler's own check is left. Every
    staff action, with the real tip's number, on the client's own old message and on the
    staff member's old panel."""
    await start_and_consent(alice)
    await staff.send("/tips")
    library = await staff.expect("Ready tips")
    panel = await compose(staff)
    (draft,) = await rows(bot, Broadcast)
    number: int = draft.id  # type: ignore[assignment]
    offered = [b["callback_data"] for b in panel.flat_buttons]
    await staff.tap(labels.bc_audience)
    choice = await staff.expect("who should get it")
    offered += [b["callback_data"] for b in choice.flat_buttons]
    offered += [b["callback_data"] for b in library.flat_buttons]
    offered += [encode(dialog.BroadcastPress(a, number)) for a in ("stop", "x")]
    await staff.tap(labels.back)
    await staff.expect("Audience:")
    actions = {decode(data).action for data in offered}  # type: ignore[union-attr]
    assert actions >= {"aud", "seg", "back", "send", "when", "edit", "drop", "tip", "stop", "x"}

    own = alice.bot_messages()[0]  # her welcome, long ago
    own.date -= TOO_OLD
    panel.date -= TOO_OLD
    before = await snapshot(bot, staff, alice)
    try:
        for message in (own, panel):
            for data in offered:
                await refused(alice, message, data)
        await quiet(staff, alice)
        assert await snapshot(bot, staff, alice) == before
    finally:
        panel.date += TOO_OLD
    # The tip is as the staff member left it, and still theirs to send.
    await send_now(staff, panel)
    report = await wait_done(staff, number)
    assert "sent to 1 of 1" in report.shown_text
    assert len(tips_of(alice)) == 1


async def test_a_client_cannot_stop_a_broadcast_that_is_sending(
    settings: Settings, staff: SimUser, emulator: BotApiEmulator
) -> None:
    """The Stop button under a broadcast as it goes out, pressed by one of its recipients on
    the status message itself and on it as too old to include: it goes on to everyone."""
    users = seed_clients(settings.database_url, emulator, 20)
    client = users[0]
    slow = settings.model_copy(update={"send_rate": 5.0})
    async with RunningBot(slow, poll_timeout=1.0) as running:
        panel = await compose(staff)
        assert "20 clients" in panel.text
        await send_now(staff)
        await staff.expect("Sending tip #1")
        stop = next(b for b in panel.flat_buttons if b["text"] == labels.bc_stop)
        await refused(client, panel, stop["callback_data"])
        panel.date -= TOO_OLD
        try:
            await refused(client, panel, stop["callback_data"])
        finally:
            panel.date += TOO_OLD
        (broadcast,) = await rows(running, Broadcast)
        assert broadcast.status == "sending", "still going when the presses were refused"
        report = await wait_done(staff, 1)
        assert "sent to 20 of 20" in report.shown_text
        assert "stopped" not in report.shown_text
    assert [len(tips_of(u)) for u in users] == [1] * 20


async def test_real_presses_on_messages_too_old_to_include_still_do_what_they_say(
    bot: RunningBot, staff: SimUser, alice: SimUser, emulator: BotApiEmulator
) -> None:
    """Past 48 hours Telegram sends a press without its message (nobody can tell which buttons
    it had), yet a real button on it works: a client's /privacy switch days later, and staff
    closing a request from its post days later."""
    post = await hand_off(alice, emulator)
    await alice.send("/privacy")
    privacy = await alice.expect("Your privacy")
    [switch] = [b["callback_data"] for b in privacy.flat_buttons if b["text"] == labels.tips_off]
    close = next(b["callback_data"] for b in post.flat_buttons if b["text"] == labels.handoff_close)
    privacy.date -= TOO_OLD
    post.date -= TOO_OLD

    query = await press(alice, privacy, switch)
    assert (query.answer or {}).get("text") == labels.done
    shown = await alice.expect("Your privacy")  # anew: the old one can't be read to edit
    assert labels.tips_on in [b["text"] for b in shown.flat_buttons]
    [client] = await rows(bot, Client)
    assert client.tips_consent is False

    query = await press(staff, post, close)
    assert (query.answer or {}).get("text") == labels.handoff_closed
    await alice.expect("has closed this conversation")
