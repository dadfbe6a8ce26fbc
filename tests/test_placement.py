"""Where a step's replies put the live question and the booking buttons, foreseen before they
are sent (`bot.cases.conversation.placement`): written with the step, it spares an update a
second transaction, so it must be right whenever it is not None."""

from __future__ import annotations

from bot.cases.conversation import Placement, placement
from dialogs.engine import Stage
from tests.test_engine import answer_current, consented

PRESSED = 7


def test_an_answer_edited_in_place_keeps_the_question_on_the_pressed_message() -> None:
    result = answer_current(consented())
    assert placement(result, PRESSED, PRESSED) == Placement(PRESSED, None)


def test_the_result_replaces_the_last_question_and_carries_the_booking() -> None:
    result = consented()
    while result.state.stage is Stage.SCREENING:
        result = answer_current(result)
    assert placement(result, PRESSED, PRESSED) == Placement(None, PRESSED)


def test_a_question_sent_as_a_new_message_is_not_foreseen() -> None:
    started = consented()  # the first question comes in a message of its own
    assert any(r.live and not r.replace for r in started.replies)
    assert placement(started, PRESSED, None) is None


def test_a_press_on_a_message_telegram_no_longer_shows_is_not_foreseen() -> None:
    result = answer_current(consented())
    assert placement(result, None, PRESSED) is None
