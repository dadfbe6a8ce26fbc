"""What a command does to the mode a chat is in, end to end: a question the bot waits to
have typed ends with any command (saying what was cancelled), a tapped one with /cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs.render import labels
from storage.models import ReminderPlan
from tests.flows import answer_all, rows, start_and_consent
from tests.test_e2e_human import hand_off
from tests.test_e2e_reminders import INTERVAL, up_to_a_typed_zone


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"reminder_interval": timedelta(seconds=INTERVAL)})


async def test_a_command_at_a_typed_question_ends_it_and_says_so(
    bot: RunningBot, alice: SimUser
) -> None:
    await start_and_consent(alice)
    await answer_all(alice)
    await up_to_a_typed_zone(alice, interval=f"{INTERVAL} s")
    await alice.send("/help")
    await alice.expect("Reminder setup stopped")
    await alice.expect("What I can do")
    await alice.send("Berlin")  # no longer read as a time zone
    hint = await alice.expect("/help shows what I can do")
    assert "Right?" not in hint.shown_text
    (plan,) = await rows(bot, ReminderPlan)
    assert (plan.status, plan.step) == ("setup", None)
    await up_to_a_typed_zone(alice, every_day=False, interval=f"{INTERVAL} s")  # days kept
    await alice.send("/reminders")  # asks the same again: the setup starts over, not stopped
    await alice.expect("Which days")
    assert not [m for m in alice.bot_messages()[-2:] if "stopped" in (m.text or "")]
    await alice.send("/cancel")  # a tapped question: /cancel ends it
    await alice.expect("Reminder setup stopped")


async def test_a_staff_command_ends_a_reply_or_a_tip_in_the_making(
    bot: RunningBot, alice: SimUser, staff: SimUser, emulator: BotApiEmulator
) -> None:
    await hand_off(alice, emulator)
    await staff.send("/inbox")
    await staff.expect("Open requests: 1")
    await staff.tap(labels.inbox_reply.format(n=1))
    await staff.expect("Write your reply")
    await staff.send("/stats")
    await staff.expect("Cancelled: nothing was sent to Alice")
    await staff.expect("Last 30 days")
    await staff.send("/broadcast")
    await staff.expect("Send me the tip")
    await staff.send("/cancel")
    await staff.expect("Tip #1 is cancelled")
    await staff.send("Not a tip any more")
    await staff.expect("You're on the clinic's staff list")
