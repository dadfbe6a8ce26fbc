"""The staff inbox end to end: /inbox in a private chat and in the staff group, Take seen by
another staff member, Reply through the inbox, Close; the out-of-hours answer and the alert
for a request that waited too long, in a clinic time zone other than UTC, across restarts.

The bot's clock is a ManualClock, so "waited 45 minutes" and "the clinic is closed" depend
on the test, never on the time of day the suite runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.handlers.inbox import send_due_alerts
from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator, Message
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs.opening_hours import OpeningHours, parse_week
from dialogs.render import labels
from storage import inbox
from storage.db import Database
from storage.models import Client, Handoff
from tests.conftest import STAFF_CHAT_ID, STAFF_ID
from tests.flows import answer, answered, start_and_consent
from tests.test_e2e_human import hand_off
from tests.test_e2e_reminders import ManualClock

KIM_ID = 777001
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def inbox_settings(settings: Settings) -> Settings:
    """Two staff members; a clinic in New York, open on weekdays, alerting after 30 minutes."""
    return settings.model_copy(
        update={
            "staff_ids": [STAFF_ID, KIM_ID],
            "clinic_timezone": "America/New_York",
            "clinic_hours": "Mon-Fri 09:00-17:00",
            "handoff_alert_minutes": 30,
        }
    )


def new_york(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)  # type: ignore[misc]


def running(settings: Settings, clock: ManualClock) -> RunningBot:
    return RunningBot(settings, poll_timeout=1.0, clock=clock, settle=False)


async def red_flag_hand_off(user: SimUser) -> Message:
    """A client whose self-check ended at a tier B red flag asks for a therapist and shares
    it; returns what the bot then told them."""
    await start_and_consent(user)
    for question, option in (
        ("rf_nerves", "no"),
        ("rf_legs", "no"),
        ("rf_chest", "no"),
        ("rf_unwell", "fever"),
    ):
        await answer(user, question, option)
    await user.tap(labels.talk_to_therapist)
    await user.expect("Talk to a therapist")
    await user.tap(labels.handoff_send)
    return await user.expect("within one working day")


def group_posts(emulator: BotApiEmulator, contains: str) -> list[str]:
    group = emulator.chats[STAFF_CHAT_ID]
    return [
        m.text or "" for m in group.messages.values() if m.from_bot and contains in (m.text or "")
    ]


async def test_staff_take_reply_and_close_requests_from_the_inbox_across_a_restart(
    inbox_settings: Settings, emulator: BotApiEmulator, alice: SimUser, staff: SimUser
) -> None:
    kim = SimUser(emulator, KIM_ID, "Kim")
    bob = SimUser(emulator, 5002, "<Bob> & Co")
    group = emulator.chats[STAFF_CHAT_ID]
    clock = ManualClock(new_york(2026, 12, 1, 10, 0))  # a Tuesday morning: open
    async with running(inbox_settings, clock):
        await hand_off(alice, emulator)
        clock.advance(70 * 60)
        await red_flag_hand_off(bob)

        await staff.send("/inbox")
        inbox = await staff.expect("Open requests: 2")
        text = inbox.text or ""
        assert text.index("URGENT, tier B") < text.index("<Bob> & Co") < text.index("Alice")
        assert "since Tue 01 Dec, 10:00, waiting 1 h 10 min" in text, "Alice, in clinic time"
        assert "America/New_York" in text and "nobody has taken it yet" in text
        await staff.tap(labels.inbox_take.format(n=2))  # Alice: tier B Bob is listed first
        await staff.expect("Sam has taken Alice's request", chat=group)
        await staff.expect("taken by you")  # then the list, edited

    clock.advance(5 * 60)
    async with running(inbox_settings, clock):  # who took what outlives a restart
        await kim.send("/inbox", chat=group)
        shared = await kim.expect("Open requests: 2", chat=group)
        assert "taken by Sam" in (shared.text or "") and "taken by you" not in (shared.text or "")
        second = await kim.tap(labels.inbox_take.format(n=2), message=shared)
        taken = await answered(kim, second)
        assert taken["text"] == labels.inbox_taken_by.format(name="Sam") and taken["show_alert"]
        mallory = SimUser(emulator, 6666, "Mallory")  # in the group, not on the staff list
        refused = await mallory.tap(labels.inbox_take.format(n=1), message=shared)
        assert (await answered(mallory, refused))["text"] == labels.staff_only
        # Kim never opened a private chat with the bot: Reply says how, and nothing is armed.
        refused = await kim.tap(labels.inbox_reply.format(n=2), message=shared)
        assert (await answered(kim, refused))["text"] == labels.inbox_open_chat
        assert [(e.method, e.code) for e in emulator.errors] == [("sendMessage", 403)]
        emulator.errors.clear()

        # Sam answers Alice from his private chat; his next message only goes to her.
        await staff.tap(labels.inbox_reply.format(n=2))
        await staff.expect("Write your reply to Alice")
        await staff.send("Hi Alice, Sam here: <Tuesday> at 3 & 4pm free?")
        reply = await alice.expect("Sam")
        assert "from BodyMechanix" in reply.text and "<Tuesday> at 3 & 4pm free?" in reply.text
        await staff.expect("Delivered to Alice")
        # Reply to Bob, then think better of it.
        await staff.tap(labels.inbox_reply.format(n=1))
        await staff.expect("Write your reply to <Bob> & Co")
        await staff.send("/cancel")
        await staff.expect("Cancelled: nothing was sent to <Bob> & Co")
        await bob.expect_silence(0.3)

        # Kim closes Alice's request in the group; her entry leaves the list.
        await kim.tap(labels.inbox_close.format(n=2), message=shared)
        await alice.expect("The clinic team has closed this conversation")
        await kim.expect("Kim closed the conversation with Alice", chat=group)
        after = await kim.expect("Open requests: 1", chat=group)
        assert "Alice" not in (after.text or "") and "<Bob> & Co" in (after.text or "")
        # Sam's own list is older: closing Alice there again is answered, and it is updated.
        stale = await staff.tap(labels.inbox_close.format(n=2))
        assert (await answered(staff, stale))["text"] == labels.inbox_gone
        await staff.expect("Open requests: 1")
        assert len(group_posts(emulator, "closed the conversation")) == 1


async def test_out_of_hours_answer_and_one_alert_per_request_across_a_restart(
    inbox_settings: Settings, emulator: BotApiEmulator, alice: SimUser, staff: SimUser
) -> None:
    bob = SimUser(emulator, 5002, "Bob")
    group = emulator.chats[STAFF_CHAT_ID]
    clock = ManualClock(new_york(2026, 12, 7, 22, 0))  # Monday night in New York
    async with running(inbox_settings, clock) as bot:
        sent = (await red_flag_hand_off(bob)).text
        # The urgent advice first, then when the clinic will answer, in its own time zone.
        assert sent.startswith("🩺 Please see a doctor today")
        closed = (
            "The clinic is closed now; we will answer after Tuesday 09:00 "
            "(clinic time, America/New_York)."
        )
        assert closed in sent and sent.index("within one working day") < sent.index(closed)
        await bob.send("Is anyone there?")
        assert closed in (await bob.expect("Passed on to the clinic team")).text

        clock.advance(11 * 3600 + 20 * 60)  # Tuesday 09:20: 20 minutes of opening hours
        assert await send_due_alerts(bot.services, bot.app.bot) == 0  # type: ignore[union-attr]
        clock.advance(25 * 60)  # 09:45: 45 minutes
        await send_due_alerts(bot.services, bot.app.bot)  # type: ignore[union-attr]
        await send_due_alerts(bot.services, bot.app.bot)  # type: ignore[union-attr]
        await staff.expect("Bob has waited 45 min of opening hours", chat=group)

        await hand_off(alice, emulator)  # open now: no out-of-hours line
        assert "closed now" not in alice.bot_messages()[-1].text  # type: ignore[operator]

    clock.advance(45 * 60)  # 10:30, while the bot is down: Alice's alert falls due
    async with running(inbox_settings, clock) as bot:
        await staff.expect("Alice has waited 45 min", chat=group, timeout=10.0)  # the job
        assert await send_due_alerts(bot.services, bot.app.bot) == 0  # type: ignore[union-attr]
        await staff.send("/inbox")
        inbox = (await staff.expect("Open requests: 2")).text or ""
        assert "since Mon 07 Dec, 22:00, waiting 12 h 30 min" in inbox
    assert len(group_posts(emulator, "has waited")) == 2, "one alert per request, restart or not"


def test_a_request_is_taken_and_alerted_about_once_whoever_is_quicker(db: Database) -> None:
    """The conditional updates behind Take and the alert, as two staff members (or two
    replicas) racing would meet them, on both databases."""
    now = datetime(2026, 12, 1, 15, tzinfo=UTC)
    hours = OpeningHours(parse_week("Mon-Fri 09:00-17:00"), NEW_YORK)
    with db.session() as session:
        client = Client(telegram_id=1, chat_id=1, first_name="Alice")
        session.add(client)
        session.flush()
        request = Handoff(client_id=client.id, status="sent", sent_at=now, staff_chat_id=-1)  # type: ignore[arg-type]
        session.add(request)
        session.flush()
        request_id: int = request.id  # type: ignore[assignment]
    later = now + timedelta(minutes=45)
    with db.session() as session:
        assert inbox.due_alerts(session, later, hours, 30) == [request_id]
        assert inbox.claim_alert(session, request_id, later) is not None
    with db.session() as session:
        assert inbox.claim_alert(session, request_id, later) is None, "claimed once"
        assert inbox.due_alerts(session, later, hours, 30) == []
        first, took = inbox.take(session, request_id, STAFF_ID, "Sam", later)
        assert took and first is not None
    with db.session() as session:
        second, took = inbox.take(session, request_id, KIM_ID, "Kim", later)
        assert not took and second is not None and second.request.taken_by_name == "Sam"
        assert inbox.start_reply(session, request_id, KIM_ID) is not None
        assert inbox.reply_target(session, KIM_ID) is not None
        assert inbox.end_reply(session, KIM_ID) is not None
        assert inbox.end_reply(session, KIM_ID) is None, "one reply, one message"
