"""Setting the bot up needs two kinds of ids: each staff member's user id (STAFF_IDS) and the
staff group's chat id (STAFF_CHAT_ID). The bot tells them: /id, and a post in a group it is
added to. The real bot, through the emulator."""

from __future__ import annotations

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from tests.conftest import STAFF_CHAT_ID, STAFF_ID

NEW_GROUP = -1001234567890


async def test_id_in_a_private_chat_is_the_senders_own_and_says_if_they_are_staff(
    bot: RunningBot, alice: SimUser, staff: SimUser
) -> None:
    await alice.send("/id")
    said = await alice.expect("Your Telegram user id is 5001.")
    assert "You are not on the clinic's staff list" in said.shown_text
    assert "<code>5001</code>" in (said.html or "")
    await staff.send("/id")
    said = await staff.expect(f"Your Telegram user id is {STAFF_ID}.")
    assert "You are on the clinic's staff list (STAFF_IDS)." in said.shown_text


async def test_id_in_a_group_is_the_groups_own_for_anyone_who_asks(
    bot: RunningBot, emulator: BotApiEmulator, alice: SimUser
) -> None:
    group = emulator.group_chat(NEW_GROUP, "Therapists", kind="supergroup")
    await alice.send("/id", chat=group)  # not staff: it is the group's id, not hers
    said = await alice.expect(f"This group's chat id is {NEW_GROUP}.", chat=group)
    assert f"set STAFF_CHAT_ID={NEW_GROUP} and restart the bot" in said.shown_text
    staff_group = emulator.chats[STAFF_CHAT_ID]
    await alice.send(f"/id@{emulator.bot_user['username']}", chat=staff_group)
    said = await alice.expect("This is the clinic's staff group", chat=staff_group)
    assert str(STAFF_CHAT_ID) in said.shown_text


async def test_a_group_the_bot_is_added_to_gets_its_id(
    bot: RunningBot, emulator: BotApiEmulator, staff: SimUser
) -> None:
    group = emulator.group_chat(NEW_GROUP, "Therapists", kind="supergroup")
    await staff.add_bot_to(group)
    said = await staff.expect(f"This group's chat id is {NEW_GROUP}.", chat=group)
    assert f"STAFF_CHAT_ID={NEW_GROUP}" in said.shown_text
    assert [m.from_bot for m in group.messages.values()] == [True], "one post, nothing else"


async def test_id_is_for_setting_up_not_in_the_clients_menu_but_in_staff_help(
    bot: RunningBot, emulator: BotApiEmulator, alice: SimUser, staff: SimUser
) -> None:
    assert "id" not in {c["command"] for c in emulator.menu_for(alice.id)}
    await staff.send("/help")
    said = await staff.expect("What I can do")
    assert "/id: your user id (for STAFF_IDS)" in said.shown_text
    await alice.send("/help")
    said = await alice.expect("What I can do")
    assert "/id" not in said.shown_text
