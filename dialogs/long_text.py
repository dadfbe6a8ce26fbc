"""A text too long for one Telegram message, split into several rather than cut.

What a client writes to the clinic team (a burst of messages is merged into one) and what a
staff member writes back are framed by a template (who writes, "reply to answer"), and the
frame may push even a single Telegram message past the 4096-character limit. Cutting it would
silently lose words the other side believes were read, so the text goes as consecutive
messages, split where a reader would break it: between paragraphs, else lines, else words.

Lengths are what Telegram counts: the text a message shows, after its HTML is parsed (a
client's `&`, escaped to `&amp;` by the template, is one character again). The frame is
measured that way too (`parse_html`), so a message fits exactly when Telegram says it does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dialogs.telegram_html import MAX_TEXT, parse_html, visible_length

# Where a cut may go, best first: between paragraphs, between lines, between words.
_BOUNDARIES = (re.compile(r"\n[^\S\n]*\n"), re.compile(r"\n"), re.compile(r"\s"))
# A boundary counts only in the later half of the room, so a split makes few, full pieces.
_MIN_FILL = 0.5


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters each, in order, cut at the latest
    paragraph, line or word boundary that leaves a piece at least half full (else mid-word).
    Only the whitespace at a cut is dropped; a text that fits is returned as is."""
    if limit < 1:
        raise ValueError("a piece needs room for at least one character")
    pieces: list[str] = []
    rest = text
    while True:
        fits = min(len(rest), limit)
        if fits == len(rest):
            if rest or not pieces:
                pieces.append(rest)
            return pieces
        cut = _cut(rest, fits)
        piece = rest[:cut].rstrip()
        if piece:  # blank only when a text starts with more whitespace than a piece holds
            pieces.append(piece)
        rest = rest[cut:].lstrip()


def in_parts(text: str, frame: Callable[[str, int, int], str], limit: int = MAX_TEXT) -> list[str]:
    """`text` as framed messages, `frame(piece, part, parts)` each (part counts from 1), every
    one within `limit` characters as Telegram counts them: one message if it fits, else as
    many as it takes. The frame is the caller's HTML template, which escapes the text; it may
    differ by part (an urgent mark on the first) and say "part 2 of 3" when there are several."""
    whole = frame(text, 1, 1)
    if _shown(whole) <= limit:
        return [whole]
    most = max(len(text), 1)  # more parts than characters there cannot be: the widest count
    framing = max(_shown(frame("x", 1, most)), _shown(frame("x", most, most))) - 1
    pieces = split_text(text, limit - framing)
    return [frame(piece, n, len(pieces)) for n, piece in enumerate(pieces, 1)]


def _cut(text: str, fits: int) -> int:
    """Where to cut `text`, whose first `fits` characters fit: at the best boundary found
    in them (whitespace right after them counts: it is dropped), else right after them."""
    window = text[: fits + 1]
    floor = max(1, int(fits * _MIN_FILL))
    for boundary in _BOUNDARIES:
        starts = [m.start() for m in boundary.finditer(window) if floor <= m.start() <= fits]
        if starts:
            return starts[-1]
    return fits


def _shown(message: str) -> int:
    """A Telegram HTML message's length as Telegram limits it."""
    return visible_length(parse_html(message))
