"""Every mode a chat can be in has its one entry in bot.modes, and which commands end it."""

from __future__ import annotations

from bot.modes import MODES, ends
from dialogs.awaiting import Awaiting


def test_every_mode_has_its_entry() -> None:
    assert set(MODES) == set(Awaiting)


def test_a_typed_mode_ends_with_any_command_a_tapped_one_with_cancel_only() -> None:
    assert ends(MODES[Awaiting.ZONE], "help") and ends(MODES[Awaiting.ZONE], "cancel")
    assert not ends(MODES[Awaiting.ZONE], "reminders"), "it asks the same again"
    assert ends(MODES[Awaiting.SETUP], "cancel") and not ends(MODES[Awaiting.SETUP], "help")
    assert ends(MODES[Awaiting.STAFF_REPLY], "stats") and ends(MODES[Awaiting.STAFF_TIP], "inbox")
    for mode in (Awaiting.NOTHING, Awaiting.CONVERSATION, Awaiting.ANSWER):
        assert not ends(MODES[mode], "cancel"), f"{mode}: /cancel is not its to end"
