"""Splitting a text too long for one message: where it is cut, that every piece fits, and that
nothing is lost."""

from __future__ import annotations

import re

import pytest

from dialogs.emergency import Symptom
from dialogs.long_text import in_parts, split_text
from dialogs.render import render
from dialogs.telegram_html import MAX_TEXT, check_message_html


def assert_lossless(text: str, pieces: list[str]) -> None:
    """The pieces are `text` in order, with only whitespace between them (at the cuts)."""
    at = 0
    for piece in pieces:
        found = text.index(piece, at)
        assert not text[at:found].strip(), f"dropped {text[at:found]!r}"
        at = found + len(piece)
    assert not text[at:].strip(), f"dropped the end {text[at:]!r}"


def test_a_text_that_fits_is_left_alone() -> None:
    text = "  Hello,\n\nit hurts <here> & there.  "
    assert split_text(text, len(text)) == [text]


def test_it_cuts_between_paragraphs_first() -> None:
    first, second = "a" * 60 + " " + "b" * 30, "c " * 40 + "d"
    assert split_text(f"{first}\n\n{second}", 100) == [first, second]


def test_then_between_lines_then_words() -> None:
    lines = "line one is here\nline two is here\nline three is here"
    assert split_text(lines, 40) == ["line one is here\nline two is here", "line three is here"]
    words = "one two three four five six seven eight nine ten"
    pieces = split_text(words, 20)
    assert pieces == ["one two three four", "five six seven eight", "nine ten"]


def test_an_early_paragraph_break_does_not_make_a_tiny_piece() -> None:
    text = "Hi.\n\n" + "word " * 40
    pieces = split_text(text, 100)
    assert len(pieces[0]) > 50, "the break in the first few characters is not used"
    assert_lossless(text, pieces)


def test_a_word_longer_than_a_piece_is_cut_mid_word() -> None:
    text = "x" * 250
    assert split_text(text, 100) == ["x" * 100, "x" * 100, "x" * 50]


def test_html_special_characters_count_as_telegram_shows_them() -> None:
    text = "<&>" * 100  # 300 characters shown, 1300 in the escaped HTML
    pieces = split_text(text, 130)
    assert [len(p) for p in pieces] == [130, 130, 40] and "".join(pieces) == text


@pytest.mark.parametrize("limit", [1, 6, 50, 333, 4000])
def test_every_piece_fits_and_nothing_is_lost(limit: int) -> None:
    words = ["pain", "<glute>", "R&D", '"sitting"', "it's", "\n", "\n\n", "a" * 70, "🙂", "  "]
    text = " ".join(words[(n * 7) % len(words)] for n in range(3000))
    pieces = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert_lossless(text, pieces)
    assert re.sub(r"\s+", "", "".join(pieces)) == re.sub(r"\s+", "", text)


def test_leading_whitespace_longer_than_a_piece_is_no_piece() -> None:
    assert split_text(" " * 30 + "hello", 10) == ["hello"]


def test_a_limit_with_no_room_is_refused() -> None:
    with pytest.raises(ValueError):
        split_text("hello", 0)


def frame(text: str, part: int, parts: int) -> str:
    return render(
        "staff_relay",
        name="<Zoë> & Co",
        telegram_id=42,
        text=text,
        flags=[Symptom("chest", "chest pain")] if part == 1 else [],
        part=part,
        parts=parts,
    )


def test_framed_parts_are_valid_messages_marked_and_urgent_first() -> None:
    text = "\n\n".join(f"Paragraph {n}: it hurts <here> & there. " * 20 for n in range(12))
    posts = in_parts(text, frame)
    assert len(posts) > 1
    shown = [check_message_html(post).text for post in posts]  # valid, each ≤ 4096 shown
    assert max(len(s) for s in shown) > MAX_TEXT - 100, "the room is used"
    assert "URGENT" in shown[0] and not any("URGENT" in s for s in shown[1:])
    assert all(f"(part {n} of {len(posts)})" in s for n, s in enumerate(shown, 1))
    bodies = [s.split("writes", 1)[1].split(":\n", 1)[1].rsplit("\n\nReply", 1)[0] for s in shown]
    assert_lossless(text, bodies)


def test_a_text_that_fits_with_its_frame_is_one_message_unmarked() -> None:
    (post,) = in_parts("Short & sweet", frame)
    assert "part 1" not in post and "Short &amp; sweet" in post
    # Escaping makes the HTML longer than Telegram's limit, not the message: still one.
    text = "Bring shorts & " * 250
    (post,) = in_parts(text, frame)
    assert len(post) > MAX_TEXT >= len(check_message_html(post).text)


def test_a_text_one_character_too_long_is_two_messages() -> None:
    room = MAX_TEXT - (len(check_message_html(frame("x", 1, 1)).text) - 1)
    assert len(in_parts("x" * room, frame)) == 1
    first, second = in_parts("x" * (room + 1), frame)
    assert len(check_message_html(first).text) <= MAX_TEXT and "(part 2 of 2)" in second
