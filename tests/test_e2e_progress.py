"""The weekly pain check-in and /progress end to end: the real bot, its scheduler, the
emulator. The bot runs on a ManualClock moved on by the test to each prompt's due time, so
weeks pass in a moment and what falls due when does not depend on how busy the machine is.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, literal, select, update

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator, Message
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs.render import labels
from storage.models import Client, PainCheckin, ReminderPlan
from tests.flows import (
    answered,
    doctor_has_checked,
    execute,
    first_hours_over,
    png_size,
    rows,
    settled,
    start_and_consent,
)
from tests.test_e2e_reminders import ManualClock, aware, next_prompt, opt_in
from tests.test_e2e_safety import EMERGENCY

AUCKLAND = ZoneInfo("Pacific/Auckland")  # a day ahead of UTC: its week starts on UTC's Sunday
CHICAGO = ZoneInfo("America/Chicago")
ASKED = "How is your back this week"


async def plan_due(bot: RunningBot, user: SimUser) -> datetime | None:
    """When the user's next prompt is due, as their plan row says now."""
    plan = await bot.services.db.run(
        lambda s: s.scalars(
            select(ReminderPlan)
            .join(Client, Client.id == ReminderPlan.client_id)
            .where(Client.telegram_id == user.id)
        ).one()
    )
    return None if plan.next_due_at is None else aware(plan.next_due_at)


async def next_due(
    bot: RunningBot, clock: ManualClock, user: SimUser, patience: float = 10.0
) -> None:
    """Move the bot's clock to the user's next prompt, once that lies ahead (after a restart
    or a jump, the scheduler first skips the prompt missed meanwhile)."""
    now = clock.now
    for _ in range(int(patience / 0.2)):
        due = await plan_due(bot, user)
        if due is not None and due > now:
            clock.now = due
            return
        await user.emulator.changed(0.2)
    raise AssertionError("the plan's next prompt never moved ahead of the clock")


async def put_back(bot: RunningBot, clock: ManualClock, user: SimUser) -> None:
    """Wait until the user's prompt, claimed but never sent, is due again (put back)."""

    async def due_again() -> bool:
        due = await plan_due(bot, user)
        return due is not None and due <= clock.now

    if not await settled(user.emulator, due_again, patience=20.0):
        raise AssertionError("the prompt that never left was not put back")


def offline_after(emulator: BotApiEmulator, text: str) -> list[asyncio.Task[None]]:
    """Telegram becomes unreachable the moment the bot sends a message containing `text`
    (that message still arrives). Returns the task taking it offline."""
    tasks: list[asyncio.Task[None]] = []

    def on_call(method: str, params: dict[str, Any]) -> None:
        if method == "sendMessage" and text in str(params.get("text")) and not tasks:
            emulator.offline = True  # this very answer closes its connection behind it
            tasks.append(asyncio.get_running_loop().create_task(emulator.go_offline()))

    emulator.on_call = on_call
    return tasks


def check_ins(user: SimUser) -> list[Message]:
    """Check-ins showing their question now (an answered one shows the answer instead)."""
    return [m for m in user.bot_messages() if ASKED in m.shown_text]


async def test_a_weekly_check_in_in_the_clients_zone_across_a_restart_then_progress(
    settings: Settings, alice: SimUser
) -> None:
    """Monday 09:30 in Auckland is still Sunday in UTC: the check-in belongs to Auckland's
    week, comes with the first prompt inside the working hours, is answered once, is not
    asked again that week, and after a restart next week's comes once, even when Telegram
    becomes unreachable right after it so the prompt goes later; a sharp worsening offers a
    new self-check; /progress charts both weeks; /delete erases them."""
    clock = ManualClock(datetime(2026, 11, 30, 9, 30, tzinfo=AUCKLAND))
    async with RunningBot(settings, poll_timeout=1.0, clock=clock) as bot:
        await start_and_consent(alice)
        await alice.send("/cancel")  # no self-check in progress: a new one can start later
        await alice.next_action()
        await opt_in(alice, "Pacific/Auckland", interval="1 h")
        await next_due(bot, clock, alice)
        asked = await alice.expect(ASKED)
        prompt = await next_prompt(alice)
        (row,) = await rows(bot, PainCheckin)
        assert row.week == date(2026, 11, 30), "Auckland's week, not UTC's (23 Nov)"
        assert time(9) <= aware(row.asked_at).astimezone(AUCKLAND).time() < time(17)
        await alice.tap(labels.prompt_done, message=prompt)
        await alice.expect("That's 1 break today")

        await alice.tap("6", message=asked)
        again = await alice.tap("2", message=asked)  # a double tap: the buttons still showed
        thanks = await alice.expect("6 out of 10")
        assert thanks.message_id == asked.message_id and not thanks.flat_buttons
        assert (await answered(alice, again)).get("text") == labels.checkin_answered
        forged = await alice.tap_data(asked, "pn:20261207:1")  # no such button
        assert (await answered(alice, forged)).get("text") == labels.stale
        (row,) = await rows(bot, PainCheckin)
        assert row.score == 6, "answered once"

        await next_due(bot, clock, alice)  # the same week: a prompt, no check-in
        await next_prompt(alice)
        assert check_ins(alice) == [], "no second check-in that week"

    clock.now = datetime(2026, 12, 7, 9, 30, tzinfo=AUCKLAND)  # a week on, while it was down
    async with RunningBot(settings, poll_timeout=1.0, clock=clock, settle=False) as bot:
        emulator = alice.emulator
        cut = offline_after(emulator, ASKED)
        try:
            await next_due(bot, clock, alice)
            asked = await alice.expect(ASKED, timeout=10)
            await put_back(bot, clock, alice)  # the prompt after it never left
        finally:
            emulator.on_call = None
            await asyncio.gather(*cut)
            await emulator.come_back()
        prompt = await next_prompt(alice, timeout=30)
        assert check_ins(alice) == [asked], "the prompt came again alone: asked once"
        await alice.tap(labels.prompt_done, message=prompt)
        await alice.expect("That's 1 break today", timeout=30)  # once polling is back
        await alice.tap("9", message=asked)
        await alice.expect("9 out of 10")
        offer = await alice.expect("6 → 9")
        assert "999" in offer.shown_text, "the urgent list comes with the offer"
        await alice.tap(labels.new_check, message=offer)
        await alice.expect("Question 1 of")
        assert [r.week for r in await rows(bot, PainCheckin, PainCheckin.week)] == [
            date(2026, 11, 30),
            date(2026, 12, 7),
        ], "one a week, across the restart"

        await alice.send("/progress")
        chart = await alice.expect("Your back pain went from 6 to 9 over 1 week")
        assert chart.shown_text.startswith(
            "Your back pain went from 6 to 9 over 1 week, and you took 2 breaks."
        )
        assert png_size(chart.file_content) == (1200, 800)
        assert chart.photo is not None and chart.photo[-1]["width"] == 1200

        await alice.send("/delete")
        await alice.expect("Delete everything?")
        await alice.tap(labels.delete_yes)
        await alice.expect("has been deleted")
        assert await rows(bot, PainCheckin) == []


async def test_skip_and_nobody_held_or_without_consent_is_asked_and_withdrawal_erases(
    settings: Settings, emulator: BotApiEmulator, alice: SimUser, staff: SimUser
) -> None:
    """Three clients with reminders in Chicago: Alice is asked, taps a score after a red flag
    (the urgent advice, nothing recorded), is checked by a doctor and skips, then answers the
    next week; Bob, held by a tier B red flag, gets nothing; Carol, who said no to health
    answers, gets her prompts but never a check-in. /mydata lists Alice's answers; withdrawing
    consent erases them. Staff /stats show the change in pain after 4 weeks."""
    bob = SimUser(emulator, 5002, "Bob")
    carol = SimUser(emulator, 5003, "Carol")
    clock = ManualClock(datetime(2026, 11, 30, 12, 0, tzinfo=CHICAGO))
    async with RunningBot(settings, poll_timeout=1.0, clock=clock, settle=False) as bot:
        await start_and_consent(alice)
        await start_and_consent(bob)
        await start_and_consent(carol, health=False)
        await bob.send("/progress")
        await bob.expect("Nothing to chart yet")
        await carol.send("/progress")
        await carol.expect("only keep them with your consent")
        await execute(
            bot, update(Client).where(Client.telegram_id == bob.id).values(safety_tier="B")
        )
        await execute(
            bot,
            insert(ReminderPlan).from_select(
                ["client_id", "status", "days", "timezone", "next_due_at"],
                select(
                    Client.id,
                    literal("active"),
                    literal("1111111"),
                    literal("America/Chicago"),
                    literal(clock.now.astimezone(UTC)),
                ),
            ),
        )
        asked = await alice.expect(ASKED)
        await next_prompt(alice)
        await next_prompt(carol)
        # A red flag after she was asked (typed mid-self-check): her score is not taken, the
        # urgent advice comes instead, until she says a doctor has checked her.
        await alice.send(EMERGENCY)
        await alice.expect("urgent medical help")
        await first_hours_over(bot)
        await alice.tap("7", message=asked)
        held = await alice.expect("urgent medical help")
        assert labels.doctor_checked in [b["text"] for b in held.flat_buttons]
        assert [r.answered_at for r in await rows(bot, PainCheckin)] == [None], "not recorded"
        await doctor_has_checked(alice, message=held)
        await alice.tap(labels.checkin_skip, message=asked)
        await alice.expect("Skipped for this week")
        (row,) = await rows(bot, PainCheckin)
        assert row.score is None and row.answered_at is not None

        clock.now = datetime(2026, 12, 7, 12, 0, tzinfo=CHICAGO)
        await next_due(bot, clock, alice)  # the slot missed meanwhile is skipped, not sent
        asked = await alice.expect(ASKED)
        await next_prompt(alice)
        await next_prompt(carol)
        await alice.tap("4", message=asked)
        await alice.expect("4 out of 10")
        # A check-in goes ahead of its prompt: with the prompts here, none can come after.
        assert check_ins(carol) == [] and bob.bot_messages()[-1].shown_text.startswith(
            "Nothing to chart yet"
        ), "no prompt, no check-in after a red flag"

        await alice.send("/mydata")
        summary = await alice.expect("weekly back-pain check-ins")
        assert "Week of 30 Nov 2026: skipped" in summary.shown_text
        assert "Week of 07 Dec 2026: 4" in summary.shown_text
        export = await alice.expect("")
        while export.document is None:
            export = await alice.expect("")
        data = json.loads(export.file_content or b"")
        assert [(c["week"], c["score"]) for c in data["pain_checkins"]] == [
            ("2026-11-30", None),
            ("2026-12-07", 4),
        ]
        # Four weeks after her first answer (4), Alice answers 1: the staff see -3 on average.
        alice_id = select(Client.id).where(Client.telegram_id == alice.id).scalar_subquery()
        answer = {"asked_at": clock.now, "answered_at": clock.now, "score": 1}
        await execute(
            bot, insert(PainCheckin).values(client_id=alice_id, week=date(2027, 1, 4), **answer)
        )
        await staff.send("/stats")
        figures = await staff.expect("Back pain after 4+ weeks")
        assert "-3.0 points on average, 1 client who answered" in figures.shown_text
        await alice.send("/privacy")
        await alice.tap(labels.withdraw_health, message=await alice.expect("Storing health"))
        await alice.next_action()
        await alice.send("/progress")
        await alice.expect("only keep them with your consent")
        assert await rows(bot, PainCheckin) == []
