"""Every kind of button through the one codec (dialogs.callbacks): each round-trips, fits
Telegram's 64 bytes at its largest, has a handler, and anything it did not make (cut short,
made up) is refused; end to end, such a press is answered and changes nothing."""

from __future__ import annotations

import dataclasses
import re
import typing
from datetime import date
from typing import Any

import pytest

from bot.presses import HANDLERS
from bot.runner import RunningBot
from bot.sandbox.users import SimUser
from dialogs.callbacks import MAX_BYTES, Part, decode, encode
from dialogs.events import AnswerGiven
from dialogs.presses import all_kinds
from dialogs.render import labels
from dialogs.replies import Button
from tests.flows import answered, start_and_consent
from tests.test_e2e_staff_powers import TOO_OLD, press

KINDS = all_kinds()


def largest(cls: type) -> Any:
    """A record of this kind with every field at its longest (ids, numbers, words)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return cls(*(_largest(hints[f.name]) for f in dataclasses.fields(cls)))


def _largest(hint: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, type(int | None)):
        hint = args[0]
    origin = typing.get_origin(hint)
    if hint is int:
        return 2**53  # Telegram's ids and the database's row ids stay below this
    if hint is bool:
        return True
    if hint is date:
        return date(2026, 12, 7)
    if origin is typing.Literal:
        return max(typing.get_args(hint), key=len)
    if origin is typing.Annotated:
        part = next(e for e in typing.get_args(hint) if isinstance(e, Part))
        chars, _, most = re.fullmatch(r"\[(.+?)\]\{(\d+),(\d+)\}", part.pattern).groups()  # type: ignore[union-attr]
        return chars.lstrip("\\")[0] * int(most)
    raise AssertionError(f"no sample for {hint!r}")


def test_there_are_the_kinds_the_bot_makes_each_with_a_prefix_of_its_own() -> None:
    prefixes = [cls.prefix for cls in KINDS]  # type: ignore[attr-defined]
    assert len(prefixes) == len(set(prefixes)) >= 25


@pytest.mark.parametrize("cls", KINDS, ids=lambda c: c.__name__)
def test_every_kind_round_trips_fits_and_has_a_handler(cls: type) -> None:
    record = largest(cls)
    data = encode(record)
    assert len(data.encode()) <= MAX_BYTES, data
    assert decode(data) == record
    assert cls in HANDLERS, f"{cls.__name__} is made but nothing handles it"
    assert Button("x", record).data == data, "a button carries exactly its press's data"
    # Cut short anywhere, it is refused, or it is exactly another press the bot could make.
    for end in range(len(data)):
        cut = decode(data[:end])
        assert cut is None or encode(cut) == data[:end], data[:end]
    # Made up: a part changed to nonsense, or one too many.
    assert decode(data + ":x") is None
    assert decode(data.replace(":", ":<b>", 1)) is None if ":" in data else True


def test_handlers_are_only_for_kinds_the_bot_makes() -> None:
    assert set(HANDLERS) == set(KINDS)


@pytest.mark.parametrize(
    "data", ["", "zzz", "a:x:y", "a:" + "k" * 70, "a:<b>:q:o", "pn:20261331:3", "mv:-1:done"]
)
def test_data_no_kind_makes_is_refused(data: str) -> None:
    assert decode(data) is None


def test_data_a_button_could_not_carry_is_refused_at_encoding() -> None:
    with pytest.raises(ValueError, match="not a kind of button"):
        encode("a:k:q:o")
    with pytest.raises(ValueError):
        encode(AnswerGiven("k" * 13, "rf_legs", "no"))  # a key longer than its bound
    hand_written = Button("x", "h:ask")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        assert hand_written.data, "hand-written data is refused"


async def test_a_cut_or_made_up_press_of_every_kind_is_answered_and_changes_nothing(
    bot: RunningBot, alice: SimUser
) -> None:
    """Pressed on a message too old for Telegram to include (so the forged-press filter has
    nothing to compare with), each kind's data cut short or made up reaches the codec: every
    such press is answered "out of date" and the chat is as it was."""
    question = await start_and_consent(alice)
    question.date -= TOO_OLD
    before = question.shown_text
    for cls in KINDS:
        data = encode(largest(cls))
        for forged in (data[:-1] + "\x00", data + ":1"):
            query = await press(alice, question, forged)
            assert (await answered(alice, query))["text"] == labels.stale, forged
    await alice.expect_silence(0.3)
    assert question.shown_text == before
