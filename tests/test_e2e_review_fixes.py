"""What a review and a staff trial found (issue 16, item 6), each as a person meets it: who a
staff reply reaches, words written with /human, the inbox after a reply, a staff member's
stray message, health details of a declined hand-off, and posts naming clients kept out of
the staff group and removed with the client's data."""

from __future__ import annotations

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from dialogs.render import labels
from storage.models import Client, Handoff
from tests.conftest import STAFF_CHAT_ID
from tests.flows import answer_all, answered, rows, settled, start_and_consent
from tests.test_e2e_human import hand_off, staff_posts
from tests.test_e2e_staff_powers import press


def group_post(emulator: BotApiEmulator, contains: str) -> object:
    group = emulator.chats[STAFF_CHAT_ID]
    return [m for m in group.messages.values() if m.from_bot and contains in (m.text or "")][-1]


async def test_only_the_request_and_the_clients_words_are_reply_targets(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    group = emulator.chats[STAFF_CHAT_ID]
    post = await hand_off(alice, emulator)
    await staff.send("Hi Alice, Sam here", chat=group, reply_to=post)
    await alice.expect("Sam here")
    receipt = await staff.expect("Delivered to Alice", chat=group)
    # A note to the team under her request, as a reply to the bot's receipt: not for her.
    await staff.send("note to team: Priya is tier A, do not book", chat=group, reply_to=receipt)
    await staff.expect("Not sent to the client: that was my note for the team", chat=group)
    await staff.send("note: she prefers mornings", chat=group, reply_to=post)  # team-only
    await alice.send("Thanks, mornings are best")
    relayed = await staff.expect("mornings are best", chat=group)

    async def recorded() -> bool:  # the bot notes the post right after sending it
        return relayed.message_id in [h.staff_message_id for h in await rows(bot, Handoff)]

    assert await settled(emulator, recorded)
    await staff.send("Tuesday 9am?", chat=group, reply_to=relayed)  # her own words: to her
    await alice.expect("Tuesday 9am?")
    await alice.expect_silence(0.5)
    said = [m.text or "" for m in alice.bot_messages()]
    assert not [t for t in said if "tier A" in t or "prefers mornings" in t]
    # Colleagues replying to each other are left alone.
    kim = SimUser(emulator, 777001, "Kim")
    mine = await kim.send("Who is on tomorrow?", chat=group)
    before = len(group.messages)
    await staff.send("Me", chat=group, reply_to=mine)
    await emulator.changed(0.5)
    assert not [m for m in list(group.messages.values())[before:] if m.from_bot]


async def test_words_written_with_human_reach_the_team(
    bot: RunningBot, alice: SimUser, emulator: BotApiEmulator
) -> None:
    await start_and_consent(alice)
    await answer_all(alice)
    await alice.send("/human Can I get a session before Friday?")
    confirm = await alice.expect("Shall I send it?")
    assert "Can I get a session before Friday?" in confirm.shown_text
    await alice.tap(labels.handoff_send)
    await alice.expect("A therapist will reply")

    async def posted() -> bool:
        return any("before Friday" in p for p in await staff_posts(emulator))

    assert await settled(emulator, posted)
    assert [h.words for h in await rows(bot, Handoff) if h.kind == "request"] == [None]
    # Declined, the words are not kept.
    await alice.send("/human call me on my mobile please")
    await alice.expect("Shall I send it?")
    await alice.tap(labels.handoff_cancel)
    await alice.expect("nothing was sent")
    assert not [h for h in await rows(bot, Handoff) if h.words]
    assert not [p for p in await staff_posts(emulator) if "mobile" in p]


async def test_a_staff_members_stray_message_starts_no_client_welcome(
    bot: RunningBot, staff: SimUser
) -> None:
    await staff.send("hello, testing")
    hint = await staff.expect("You're on the clinic's staff list")
    assert "Before the self-check" not in hint.shown_text
    assert await rows(bot, Client) == [], "not counted as a new client"
    await staff.send("/start")  # asked for, it is the client's welcome
    await staff.expect("Before the self-check")


async def test_health_details_of_a_declined_hand_off_stay_hidden(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    post = await hand_off(alice, emulator, screened=True)
    await alice.send("/human")
    await alice.expect("Shall I send it?")
    await alice.tap(labels.handoff_cancel)
    await alice.expect("nothing was sent")
    declined = next(h for h in await rows(bot, Handoff) if h.status == "declined")
    query = await press(staff, post, f"hd:{declined.id}")  # the data, as a forged press
    assert (await answered(staff, query))["text"] == labels.stale
    assert not [p for p in await staff_posts(emulator) if "lazy-glute" in p]


async def test_inbox_and_export_names_go_privately_and_leave_with_the_clients_data(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    group = emulator.chats[STAFF_CHAT_ID]
    await hand_off(alice, emulator, screened=True)
    await staff.send("/help")  # Sam has a private chat with the bot
    await staff.expect("What I can do")
    await staff.send("/inbox", chat=group)
    listing = await staff.expect("Open requests: 1")
    await staff.expect("Sent to you in our private chat", chat=group)
    await staff.send("/export")
    exported = await staff.expect("Client funnel")
    assert not [m for m in group.messages.values() if "Open requests" in (m.text or "")]

    async def tracked() -> bool:
        kinds = {h.kind for h in await rows(bot, Handoff)}
        return {"listing", "export"} <= kinds

    assert await settled(emulator, tracked), "each is a post about her"
    await alice.send("/delete")
    await alice.expect("Delete everything?")
    await alice.tap(labels.delete_yes)
    await alice.expect("deleted")
    private = emulator.chats[staff.id]

    def gone() -> bool:
        return all(private.messages[m.message_id].deleted for m in (listing, exported))

    assert await settled(emulator, gone), "the page and the file naming her are removed"
