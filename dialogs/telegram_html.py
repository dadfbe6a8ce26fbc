"""Telegram's HTML parse mode: what it accepts, what it rejects, and with which words.

Hand-written on purpose: no library reproduces Telegram's own parser (tdlib's `parse_html`),
whose quirks decide whether a message is sent or refused (a stray `&` is text, `<3` is an
error). The content checks use it so a clinic's typo in a question or a staff typo in a tip is
caught before any client sees it. The emulator judges with a parser of its own
(bot/sandbox/markup.py); tests/test_emulator_markup.py holds the two to the same answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Required, TypedDict

MAX_TEXT = 4096
MAX_CAPTION = 1024

_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# Telegram's character references: `;` optional, letters or digits read greedily; anything it
# cannot decode stays as text (a stray `&` is not an error).
_ENTITY_RE = re.compile(r"&(?:#x([0-9a-fA-F]*)|#([0-9]*)|([a-zA-Z]*));?")
_SURROGATES = (
    "Text contains invalid Unicode characters after decoding HTML entities, "
    "check for unmatched surrogate code units"
)
_SPACES = " \t\n\r\f\v"
_LINK_RE = re.compile(r"^(https?://[^\s/?#]+\.[^\s]*|tg://\S+|https?://[^\s/?#]+\S*)$", re.I)


class HtmlError(ValueError):
    """Telegram's 'can't parse entities' reason, e.g. 'Unclosed start tag at byte offset 1'."""


class Entity(TypedDict, total=False):
    """A message entity as the Bot API has it (offsets and lengths in UTF-16 units)."""

    type: Required[str]
    offset: Required[int]
    length: Required[int]
    url: str  # text_link
    user: dict[str, object]  # text_mention: the user, as a User object
    language: str  # pre
    custom_emoji_id: str  # custom_emoji


@dataclass
class Parsed:
    """The plain text Telegram would show and its entities (offsets in UTF-16 units)."""

    text: str
    entities: list[Entity] = field(default_factory=list)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _decode_entity(text: str, i: int) -> tuple[str, int] | None:
    match = _ENTITY_RE.match(text, i)
    if not match:
        return None
    hex_code, dec_code, name = match.groups()
    if name is not None:
        return (_NAMED[name], match.end()) if name in _NAMED else None
    digits_end = match.end(1) if hex_code is not None else match.end(2)
    digits = hex_code if hex_code is not None else dec_code
    code = int(digits, 16 if hex_code is not None else 10) if digits else 0
    if code == 0 or code >= 0x10FFFF or digits_end - i >= 10:
        return None
    return chr(code), match.end()  # a surrogate is refused once the whole text is read


def parse_html(source: str) -> Parsed:
    """Parse like Telegram's HTML mode; raise HtmlError with Telegram's wording on a fault.

    Offsets in error messages are byte offsets into the UTF-8 source, as Telegram reports.
    """
    out: list[str] = []
    out_utf16 = 0
    entities: list[Entity] = []
    stack: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 start, out index
    n = len(source)
    i = 0

    def byte_offset(pos: int) -> int:
        return len(source[:pos].encode("utf-8"))

    while i < n:
        ch = source[i]
        if ch == "&":
            decoded = _decode_entity(source, i)
            if decoded:
                out.append(decoded[0])
                out_utf16 += utf16_len(decoded[0])
                i = decoded[1]
                continue
        if ch != "<":
            out.append(ch)
            out_utf16 += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if i < n and source[i] == "/":
            if not stack:
                raise HtmlError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            i += 1
            while i < n and source[i] not in _SPACES and source[i] != ">":
                i += 1
            end_name = source[begin + 2 : i].lower()
            while i < n and source[i] in _SPACES:
                i += 1
            if i >= n or source[i] != ">":
                raise HtmlError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            i += 1
            tag, argument, start_utf16, start_index = stack.pop()
            if end_name and end_name != tag:
                raise HtmlError(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            if out_utf16 > start_utf16:
                entity = _entity(tag, argument, start_utf16, out_utf16, "".join(out[start_index:]))
                if entity:
                    _add_entity(entities, entity, tag, argument)
            continue

        while i < n and source[i] not in _SPACES and source[i] != ">":
            i += 1
        if i >= n:
            raise HtmlError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        tag = source[begin + 1 : i].lower()
        if tag not in _TAGS:
            raise HtmlError(f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}')
        argument = ""
        while True:
            while i < n and source[i] in _SPACES:
                i += 1
            if i >= n:
                raise HtmlError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if source[i] == ">":
                i += 1
                break
            name_start = i
            while i < n and source[i] not in _SPACES and source[i] not in "=>":
                i += 1
            name = source[name_start:i].lower()
            if not name:
                raise HtmlError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(begin)}'
                )
            while i < n and source[i] in _SPACES:
                i += 1
            if i >= n or source[i] != "=":
                if tag == "blockquote" and name == "expandable":
                    argument = "expandable"
                    continue
                raise HtmlError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {byte_offset(begin)}'
                )
            i += 1
            while i < n and source[i] in _SPACES:
                i += 1
            if i >= n:
                raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
            value: list[str] = []
            if source[i] in "'\"":
                quote = source[i]
                i += 1
                while i < n and source[i] != quote:
                    decoded = _decode_entity(source, i) if source[i] == "&" else None
                    if decoded:
                        value.append(decoded[0])
                        i = decoded[1]
                    else:
                        value.append(source[i])
                        i += 1
                if i < n:
                    i += 1
            else:
                token_start = i
                while i < n and (source[i].isalnum() or source[i] in ".-"):
                    i += 1
                value.append(source[token_start:i].lower())
                if i < n and source[i] not in _SPACES and source[i] != ">":
                    raise HtmlError(
                        f"Unexpected end of name token at byte offset {byte_offset(token_start)}"
                    )
            if i >= n:
                raise HtmlError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            text_value = "".join(value)
            if (
                (tag == "a" and name == "href")
                or (tag == "tg-emoji" and name == "emoji-id")
                or (tag == "tg-time" and name == "unix")
            ):
                argument = text_value
            elif tag == "code" and name == "class" and text_value.startswith("language-"):
                argument = text_value[len("language-") :]
            elif tag == "pre" and name == "language":
                argument = text_value
            elif tag == "span" and name == "class" and text_value.startswith("tg-"):
                argument = text_value[3:]
        if tag == "span" and argument != "spoiler":
            raise HtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
            )
        stack.append((tag, argument, out_utf16, len(out)))

    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    text = "".join(out)
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise HtmlError(_SURROGATES)
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)  # only a pre block keeps its language
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return Parsed(text, entities)


def _entity(tag: str, argument: str, start: int, end: int, inner: str) -> Entity | None:
    kind = _TAGS[tag]
    entity: Entity = {"type": kind, "offset": start, "length": end - start}
    if tag == "a":
        url = argument or inner
        user_id = url[len("tg://user?id=") :]
        if url.lower().startswith("tg://user?id=") and user_id.isdigit():
            return {
                **entity,
                "type": "text_mention",
                "user": {"id": int(user_id), "is_bot": False, "first_name": ""},
            }
        if not _LINK_RE.match(url):
            return None  # Telegram drops a link it cannot use and keeps the text
        entity["url"] = url
    elif tag in ("pre", "code") and argument:
        entity["language"] = argument
    elif tag == "blockquote" and argument == "expandable":
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        if not argument.lstrip("-").isdigit() or int(argument) == 0:
            raise HtmlError("Invalid custom emoji identifier specified")
        entity["custom_emoji_id"] = argument
    return entity


def _add_entity(entities: list[Entity], entity: Entity, tag: str, argument: str) -> None:
    """`<pre><code class="language-x">`, either way round, is one pre block in language x."""
    last = entities[-1] if entities else None
    if last and (last["offset"], last["length"]) == (entity["offset"], entity["length"]):
        if tag == "pre" and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"
            return
        if tag == "code" and last["type"] == "pre" and argument:
            last["language"] = argument
            return
    entities.append(entity)


def visible_length(parsed: Parsed) -> int:
    """Length as Telegram limits it: Unicode code points of the parsed text."""
    return len(parsed.text)


def check_message_html(source: str, *, limit: int = MAX_TEXT) -> Parsed:
    """Parse and apply the length rules; raise HtmlError with a readable reason."""
    parsed = parse_html(source)
    if not parsed.text.strip():
        raise HtmlError("text must be non-empty")
    if visible_length(parsed) > limit:
        raise HtmlError(f"message is too long ({visible_length(parsed)} of {limit} characters)")
    return parsed
