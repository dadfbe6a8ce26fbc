"""The staff inbox end to end: /inbox in a private chat and in the staff group, Take seen by
another staff member, Reply through the inbox, Close; the out-of-hours answer and the alert
for a request that waited too long, in a clinic time zone other than UTC, across restarts.

The bot's clock is a ManualClock, so "waited 45 minutes" and "the clinic is closed" depend
on the test, never on the time of day the suite runs; the alert goes through the bot's own
scheduled job (run at once by the test, or by the bot on start)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from telegram.error import BadRequest

from bot.cases.inbox import send_due_alerts
from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator, Message
from bot.sandbox.users import SimUser
from bot.services import Services
from bot.settings import Settings
from dialogs.content import load_content
from dialogs.opening_hours import OpeningHours, parse_week
from dialogs.render import labels
from storage import inbox
from storage.db import Database
from storage.models import Client, Handoff
from tests.conftest import STAFF_CHAT_ID, STAFF_ID, make_settings
from tests.content import content_folder
from tests.flows import answer, answered, settled, start_and_consent
from tests.test_e2e_human import ask_again, hand_off
from tests.test_e2e_reminders import ManualClock
from tests.test_e2e_staff_powers import press

KIM_ID = 777001
NEW_YORK = ZoneInfo("America/New_York")
WEDNESDAY = date(2026, 12, 9)


NEW_YORK_CLINIC = {"timezone": "America/New_York", "hours": "Mon-Fri 09:00-17:00"}


@pytest.fixture
def inbox_settings(settings: Settings, tmp_path: Path) -> Settings:
    """Two staff members; a clinic in New York, open on weekdays, alerting after 30 minutes."""
    return settings.model_copy(
        update={
            "staff_ids": [STAFF_ID, KIM_ID],
            "content_dir": content_folder(tmp_path / "content", clinic=NEW_YORK_CLINIC),
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


def group_posts_of(emulator: BotApiEmulator, contains: str) -> list[Message]:
    group = emulator.chats[STAFF_CHAT_ID]
    return [m for m in group.messages.values() if m.from_bot and contains in (m.text or "")]


def group_posts(emulator: BotApiEmulator, contains: str) -> list[str]:
    return [m.text or "" for m in group_posts_of(emulator, contains)]


async def test_staff_take_reply_and_close_requests_from_the_inbox_across_a_restart(
    inbox_settings: Settings,
    emulator: BotApiEmulator,
    alice: SimUser,
    staff: SimUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kim = SimUser(emulator, KIM_ID, "Kim")
    bob = SimUser(emulator, 5002, "<Bob> & Co")
    group = emulator.chats[STAFF_CHAT_ID]
    clock = ManualClock(new_york(2026, 12, 1, 10, 0))  # a Tuesday morning: open
    async with running(inbox_settings, clock) as bot:
        # Alerts run when the test says so (alert_job): none may slip in before the Take.
        (own,) = bot.app.job_queue.get_jobs_by_name("handoff alerts")  # type: ignore[union-attr]
        own.enabled = False
        await hand_off(alice, emulator)
        clock.advance(70 * 60)
        await red_flag_hand_off(bob)

        await staff.send("/inbox")
        inbox = await staff.expect("Open requests: 2")
        text = inbox.text or ""
        assert text.index("URGENT, tier B") < text.index("<Bob> & Co") < text.index("Alice")
        assert "since Tue 01 Dec, 10:00, waiting 1 h 10 min" in text, "Alice, in clinic time"
        assert "America/New_York" in text and "\n   nobody has taken it yet" in text  # indented
        await staff.tap(labels.inbox_take.format(n=2))  # Alice: tier B Bob is listed first
        await staff.expect("Sam has taken Alice's request", chat=group)
        await staff.expect("taken by you")  # then the list, edited

    clock.advance(5 * 60)
    async with running(inbox_settings, clock) as bot:  # who took what outlives a restart
        # Alice asks again: her open conversation is one case, so the new request is Sam's too,
        # and no alert goes for it.
        await ask_again(alice)
        clock.advance(31 * 60)
        await alert_job(bot)
        kim.chat.started = True  # Kim has a private chat with the bot
        await kim.send("/inbox", chat=group)
        shared = await kim.expect("Open requests: 2")  # in private, and the group is told
        await kim.expect("Sent to you in our private chat", chat=group)
        alices_entry = (shared.text or "")[(shared.text or "").index("2. Alice") :]
        assert "waiting 31 min" in alices_entry and "taken by Sam" in alices_entry
        assert "taken by you" not in (shared.text or "")
        assert not [m for m in group.messages.values() if "Open requests" in (m.text or "")]
        assert group_posts(emulator, "Alice has waited") == []
        second = await kim.tap(labels.inbox_take.format(n=2), message=shared)
        taken = await answered(kim, second)
        assert taken["text"] == labels.inbox_taken_by.format(name="Sam") and taken["show_alert"]
        mallory = SimUser(emulator, 6666, "Mallory")  # not on the staff list, replaying it
        take = next(b for b in shared.flat_buttons if b["text"] == labels.inbox_take.format(n=1))
        refused = await press(mallory, shared, take["callback_data"])
        assert (await answered(mallory, refused))["text"] == labels.stale

        # Sam answers Alice from his private chat; his next message only goes to her, and the
        # group sees a copy (clipped to fit) under her newest request's post.
        sent: list[dict[str, Any]] = []
        emulator.on_call = lambda method, params: sent.append(params)
        await staff.tap(labels.inbox_reply.format(n=2))
        await staff.expect("Write your reply to Alice")
        long_reply = "Hi Alice, Sam here: <Tuesday> at 3 & 4pm free? " + "Bring shorts & " * 260
        await staff.send(long_reply)
        reply = await alice.expect("Sam")
        assert "from BodyMechanix" in reply.text and "<Tuesday> at 3 & 4pm free?" in reply.text
        await staff.expect("Delivered to Alice")
        copy = await staff.expect(
            "↩️ Sam replied to Alice: Hi Alice, Sam here: <Tuesday>", chat=group
        )
        assert (copy.text or "").endswith("…") and len(copy.text or "") < 4096
        alices_post = group_posts_of(emulator, "Alice (@alice_b) asks to talk")[-1]
        (copied,) = [p for p in sent if "replied to Alice" in str(p.get("text"))]
        assert copied["reply_parameters"]["message_id"] == alices_post.message_id
        emulator.on_call = None
        # Reply to Bob, then think better of it.
        await staff.tap(labels.inbox_reply.format(n=1))
        await staff.expect("Write your reply to <Bob> & Co")
        await staff.send("/cancel")
        await staff.expect("Cancelled: nothing was sent to <Bob> & Co")
        await bob.expect_silence(0.3)
        # Sam answers Bob after all while the group refuses the copy: Bob still gets it, Sam
        # is told so, and the log has one line.
        group.bot_removed = True
        await staff.tap(labels.inbox_reply.format(n=1))
        await staff.expect("Write your reply to <Bob> & Co")
        await staff.send("Sam here: how is the fever today?")
        await bob.expect("how is the fever today?")
        await staff.expect("Delivered to <Bob> & Co")
        await settled(emulator, lambda: bool(emulator.errors))  # the copy, refused after that
        group.bot_removed = False
        assert [(e.method, e.code) for e in emulator.errors] == [("sendMessage", 403)]
        emulator.errors.clear()
        refused = [r for r in caplog.records if "could not post a note" in r.getMessage()]
        assert len(refused) == 1 and refused[0].exc_info is None, "one line, no traceback"
        assert group_posts(emulator, "replied to <Bob> & Co") == []
        assert len(group_posts(emulator, "replied to Alice")) == 1

        # Kim closes Alice's request on her list; her entry leaves it.
        await kim.tap(labels.inbox_close.format(n=2), message=shared)
        await alice.expect("The clinic team has closed this conversation")
        await kim.expect("Kim closed the conversation with Alice", chat=group)
        after = await kim.expect("Open requests: 1")
        assert "Alice" not in (after.text or "") and "<Bob> & Co" in (after.text or "")
        # Sam's own list is older: closing Alice there again is answered, and it is updated.
        stale = await staff.tap(labels.inbox_close.format(n=2))
        assert (await answered(staff, stale))["text"] == labels.inbox_gone
        listing = await staff.expect("Open requests: 1")
        assert len(group_posts(emulator, "closed the conversation")) == 1
        # Data on none of the list's buttons (a modified app) is answered and changes nothing.
        forged = await staff.tap_data(listing, "ib:c:424242:0")
        assert (await answered(staff, forged))["text"] == labels.stale

        await replies_that_do_not_reach_bob(clock, emulator, staff, kim, bob, after)


async def replies_that_do_not_reach_bob(
    clock: ManualClock,
    emulator: BotApiEmulator,
    staff: SimUser,
    kim: SimUser,
    bob: SimUser,
    kims_list: Message,
) -> None:
    """Sam's Reply to Bob (the only open request) meets a photo, a coffee break, a tip he
    starts, Bob blocking the bot, Kim closing the request and Bob erasing his data: each
    time Sam is told what happened, and nothing he meant for something else reaches Bob."""
    group = emulator.chats[STAFF_CHAT_ID]

    async def press_reply() -> None:
        await staff.tap(labels.inbox_reply.format(n=1))
        await staff.expect("Write your reply to <Bob> & Co")

    await press_reply()
    await staff.send_media("photo")
    await staff.expect("I can only pass on text to <Bob> & Co")
    clock.advance(31 * 60)
    await staff.send("See you at 3?")
    await staff.expect("Not sent: you pressed Reply to <Bob> & Co over 30 minutes ago")

    await press_reply()  # then a command: the tip he starts is a tip, not a message to Bob
    await staff.send("/broadcast")
    await staff.expect("Cancelled: nothing was sent to <Bob> & Co")
    await staff.expect("Send me the tip")
    await staff.send("Stretch your hips today!")
    await staff.expect("Audience:", timeout=10)
    await staff.send("/cancel")
    await staff.expect("is cancelled. Nothing was sent")

    await press_reply()
    await bob.block()
    await staff.send("Are you still in pain?")
    await staff.expect("Not delivered: this client has blocked the bot")
    emulator.errors[:] = [e for e in emulator.errors if (e.method, e.code) != ("sendMessage", 403)]
    await bob.unblock()

    await press_reply()  # Kim closes Bob's request meanwhile
    await kim.tap(labels.inbox_close.format(n=1), message=kims_list)
    await kim.expect("Kim closed the conversation with <Bob> & Co", chat=group)
    await staff.send("Sorry for the wait")
    await staff.expect("Not delivered: a colleague has closed this conversation")

    await ask_again(bob)  # Bob asks again; Sam replies, and Bob erases his data
    await staff.send("/inbox")
    await staff.expect("Open requests: 1")
    await press_reply()
    await bob.send("/delete")
    await bob.expect("Delete everything?")
    await bob.tap(labels.delete_yes)
    await bob.expect("everything I stored about you has been deleted")
    await staff.expect("<Bob> & Co has just deleted their data, so your reply can't be sent")
    meant_elsewhere = ("See you at 3?", "Stretch", "still in pain", "Sorry for the wait")
    assert not [m for m in bob.bot_messages() if any(t in m.text for t in meant_elsewhere)]


async def alert_job(bot: RunningBot) -> None:
    """Run the bot's own scheduled alert job now (it also runs every minute by itself)."""
    app = bot.app
    assert app is not None and app.job_queue is not None
    (job,) = app.job_queue.get_jobs_by_name("handoff alerts")
    await job.run(app)


async def test_out_of_hours_answer_once_a_night_and_one_alert_per_request_across_a_restart(
    inbox_settings: Settings, emulator: BotApiEmulator, alice: SimUser, staff: SimUser
) -> None:
    bob = SimUser(emulator, 5002, "Bob")
    group = emulator.chats[STAFF_CHAT_ID]
    holiday = {**NEW_YORK_CLINIC, "holidays": [WEDNESDAY.isoformat()]}
    assert inbox_settings.content_dir is not None
    folder = content_folder(inbox_settings.content_dir, clinic=holiday)
    settings = inbox_settings.model_copy(update={"content_dir": folder})
    clock = ManualClock(new_york(2026, 12, 7, 22, 0))  # Monday night in New York
    staff.chat.started = True  # Sam has a private chat with the bot, for /inbox
    async with running(settings, clock) as bot:
        sent = (await red_flag_hand_off(bob)).text
        # The urgent advice first, then when the clinic will answer, in its own time zone.
        assert sent.startswith("🩺 Please see a doctor today")
        closed = (
            "The clinic is closed now; we will answer when it opens, tomorrow at 09:00 "
            "(clinic time, America/New_York)."
        )
        assert closed in sent and sent.index("within one working day") < sent.index(closed)
        clock.advance(3 * 3600)  # 01:00, the same night: told once is enough
        await bob.send("Is anyone there?")
        assert "closed now" not in (await bob.expect("Passed on to the clinic team")).text

        clock.advance(8 * 3600 + 20 * 60)  # Tuesday 09:20: 20 minutes of opening hours
        await alert_job(bot)
        assert group_posts(emulator, "has waited") == []
        clock.advance(25 * 60)  # 09:45: 45 minutes
        await alert_job(bot)
        await alert_job(bot)
        await staff.expect("Bob has waited 45 min of opening hours", chat=group)

        await hand_off(alice, emulator)  # open now: no out-of-hours line
        assert "closed now" not in alice.bot_messages()[-1].text  # type: ignore[operator]

    clock.advance(45 * 60)  # 10:30, while the bot is down: Alice's alert falls due
    async with running(settings, clock) as bot:
        await staff.expect("Alice has waited 45 min", chat=group, timeout=10.0)  # at start
        # Both ask again: the newest request is the one listed, and alerted about on its own,
        # unless a staff member has answered since (Alice, in the group).
        await ask_again(alice)
        await ask_again(bob)
        alices = group_posts_of(emulator, "Alice (@alice_b) asks to talk")
        await staff.send("Hello again Alice", chat=group, reply_to=alices[-1])
        await alice.expect("Hello again Alice")
        await staff.expect("Delivered to Alice", chat=group)
        # Asked in the group: handled after the reply there is on record (one chat, in order).
        # Answering took it, and ended its wait.
        await staff.send("/inbox", chat=group)
        listed = (await staff.expect("Open requests: 2")).text or ""
        assert "since Tue 08 Dec, 10:30, waiting 0 min" in listed, "Bob's"
        assert "since Tue 08 Dec, 10:30, answered after 0 min" in listed, "Alice's"
        assert "taken by you" in listed
        assert "URGENT, tier B" in listed and "safety status not shared" in listed
        clock.advance(35 * 60)  # 11:05
        await alert_job(bot)
        await staff.expect("Bob has waited 35 min", chat=group)
        assert len(group_posts(emulator, "Alice has waited")) == 1, "answered: no second alert"

        clock.advance(6 * 3600 + 30 * 60)  # Tuesday 17:35: closed, and Wednesday a holiday
        await bob.send("Still here")
        late = (await bob.expect("Passed on to the clinic team")).text
        assert "when it opens, on Thursday at 09:00" in late, "a new night: told again"
    assert len(group_posts(emulator, "has waited")) == 3, "one alert per request, restart or not"


async def test_take_on_an_older_list_takes_the_clients_newer_request_too(
    inbox_settings: Settings, emulator: BotApiEmulator, alice: SimUser, staff: SimUser
) -> None:
    """Sam's list shows Alice's first request; she asks again before he presses Take there.
    Her conversation is one case: the newer request is his too, and nobody is alerted."""
    group = emulator.chats[STAFF_CHAT_ID]
    kim = SimUser(emulator, KIM_ID, "Kim")
    clock = ManualClock(new_york(2026, 12, 1, 10, 0))  # a Tuesday morning: open
    async with running(inbox_settings, clock) as bot:
        await hand_off(alice, emulator)
        await staff.send("/inbox")
        await staff.expect("Open requests: 1")
        clock.advance(5 * 60)
        await ask_again(alice)
        await staff.tap(labels.inbox_take.format(n=1))  # on the list from before
        await staff.expect("Sam has taken Alice's request", chat=group)
        kim.chat.started = True
        await kim.send("/inbox", chat=group)
        shared = (await kim.expect("Open requests: 1")).text or ""
        assert "since Tue 01 Dec, 10:05" in shared and "taken by Sam" in shared
        clock.advance(40 * 60)
        await alert_job(bot)
        assert group_posts(emulator, "has waited") == []


def test_a_request_is_taken_and_alerted_about_once_whoever_is_quicker(db: Database) -> None:
    """The conditional updates behind Take, Reply and the alert, as two staff members (or two
    replicas) racing would meet them, on both databases; what counts as open."""
    now = datetime(2026, 12, 1, 15, tzinfo=UTC)
    hours = OpeningHours(parse_week("Mon-Fri 09:00-17:00"), NEW_YORK)
    with db.session() as session:
        client = Client(telegram_id=1, chat_id=1, first_name="Alice")
        old_client = Client(telegram_id=2, chat_id=2, first_name="Olga")
        session.add_all([client, old_client])
        session.flush()
        request = sent_request(client, now)
        # Olga's request is from before the upgrade, eight days old and never closed.
        old = sent_request(old_client, now - timedelta(days=8))
        session.add_all([request, old])
        session.flush()
        request_id: int = request.id  # type: ignore[assignment]
        old_id: int = old.id  # type: ignore[assignment]
    later = now + timedelta(minutes=45)
    with db.session() as session:
        assert [r.request.id for r in inbox.open_requests(session, later)] == [request_id]
        assert inbox.start_reply(session, old_id, STAFF_ID, later) is None, "not open"
        assert inbox.take(session, old_id, STAFF_ID, "Sam", later) == (None, False)
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
        # Two Reply presses (two replicas at once): one armed reply, the latest.
        assert inbox.start_reply(session, request_id, KIM_ID, later) is not None
        assert inbox.start_reply(session, request_id, KIM_ID, later) is not None
        replies = session.exec(select(Handoff).where(Handoff.kind == inbox.REPLY)).all()
        assert len(replies) == 1
    with pytest.raises(IntegrityError), db.session() as session:  # the database's own guard
        session.add(Handoff(client_id=replies[0].client_id, kind=inbox.REPLY, taken_by=KIM_ID))
        session.flush()
    with db.session() as session:
        assert inbox.reply_target(session, KIM_ID) is not None
        assert inbox.end_reply(session, KIM_ID) is not None
        assert inbox.end_reply(session, KIM_ID) is None, "one reply, one message"
        # A second request from Alice: the newest is listed, still Sam's (her conversation is
        # one case), so no alert is due for it.
        newer = sent_request(client, later)
        session.add(newer)
        session.flush()
        inbox.carry_take(session, newer.id, later)  # type: ignore[arg-type]
        (listed,) = inbox.open_requests(session, later)
        assert listed.request.id == newer.id and listed.request.taken_by == STAFF_ID
        assert inbox.due_alerts(session, later + timedelta(minutes=31), hours, 30) == []


def sent_request(client: Client, at: datetime) -> Handoff:
    """A request that reached the staff chat at `at`."""
    return Handoff(client_id=client.id, status="sent", created_at=at, sent_at=at, staff_chat_id=-1)  # type: ignore[arg-type]


async def test_an_alert_the_staff_chat_refuses_is_tried_again_later_not_every_minute(
    db: Database, database_url: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """A staff chat the bot can't post to (removed from the group, a wrong STAFF_CHAT_ID):
    the alert is retried after 1, 2, 4... minutes, one traceback in the log, then one line."""

    class StaffChat:  # Telegram's side: refuses posts until `working`
        def __init__(self) -> None:
            self.posts, self.working = 0, False

        async def send_message(self, chat_id: int, text: str, **_: object) -> SimpleNamespace:
            self.posts += 1
            if not self.working:
                raise BadRequest("Chat not found")
            return SimpleNamespace(chat_id=chat_id, message_id=self.posts)

    sent_at = new_york(2026, 12, 1, 10, 0)
    settings = make_settings(
        database_url=database_url,
        staff_chat_id=STAFF_CHAT_ID,
        handoff_alert_minutes=30,
    )
    clock = ManualClock(sent_at + timedelta(minutes=45))
    folder = content_folder(tmp_path / "content", clinic=NEW_YORK_CLINIC)
    services = Services(settings, db, load_content(folder), clock=clock)
    with db.session() as session:
        client = Client(telegram_id=1, chat_id=1, first_name="Alice")
        session.add(client)
        session.flush()
        session.add(sent_request(client, sent_at))
    staff_chat = StaffChat()
    tries = []
    for _ in range(8):  # a tick a minute
        await send_due_alerts(services, staff_chat)  # type: ignore[arg-type]
        tries.append(staff_chat.posts)
        clock.advance(60)
    assert tries == [1, 2, 2, 3, 3, 3, 3, 4], "after 1, 2 and 4 minutes"
    noted = [r for r in caplog.records if "could not post a note" in r.getMessage()]
    tracebacks = [r for r in noted if r.exc_info]
    assert len(tracebacks) == 1
    staff_chat.working = True
    while not await send_due_alerts(services, staff_chat):  # type: ignore[arg-type]
        clock.advance(60)
    assert await send_due_alerts(services, staff_chat) == 0, "posted once, then done"  # type: ignore[arg-type]
