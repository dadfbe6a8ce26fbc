"""Telegram's HTML parse mode, as the emulator and the content checks apply it."""

import pytest

from dialogs.telegram_html import HtmlError, check_message_html, parse_html


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<3 Bob", 'Unsupported start tag "3" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("x<y", "Unclosed start tag at byte offset 1"),
        ("<b>ab</i>", 'Unmatched end tag at byte offset 5, expected "</b>", found "</i>"'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("</b>", "Unexpected end tag at byte offset 0"),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ('<span class="x">a</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("é<x>", 'Unsupported start tag "x" at byte offset 2'),
    ],
)
def test_rejects_what_telegram_rejects_with_its_words(source: str, reason: str) -> None:
    with pytest.raises(HtmlError) as caught:
        parse_html(source)
    assert str(caught.value) == reason


def test_entities_and_stray_characters_pass_as_text() -> None:
    parsed = parse_html("Fish &amp; chips &copy; 3 > 2 &#128512; &x")
    assert parsed.text == "Fish & chips &copy; 3 > 2 😀 &x"


def test_entity_offsets_count_utf16_units() -> None:
    parsed = parse_html("😀 <b>bold</b> <a href='https://example.com/x'>link</a>")
    bold, link = parsed.entities
    assert (bold["type"], bold["offset"], bold["length"]) == ("bold", 3, 4)
    assert (link["type"], link["url"], link["offset"]) == ("text_link", "https://example.com/x", 8)


def test_length_is_counted_after_parsing() -> None:
    check_message_html("<b>" + "x" * 4096 + "</b>")
    with pytest.raises(HtmlError, match="too long"):
        check_message_html("x" * 4097)
    with pytest.raises(HtmlError, match="non-empty"):
        check_message_html("<b> </b>")
