"""Telegram's HTML parse mode as the emulator judges it: accepted or refused, and with which words.

Deliberately written apart from the bot's own checker (`dialogs/telegram_html.py`): if the
emulator judged the bot's messages with the bot's own parser, a mistake in that parser would
pass here and fail at Telegram. This one follows the shape of Telegram's parser instead (tdlib's
`parse_html`: one scan over the UTF-8 bytes, a NUL at the end standing for "nothing left",
byte offsets in its errors) and is held to a table of tdlib's own answers in
`tests/test_emulator_markup.py`; the bot's checker is held to agree with it there. No library
parses Telegram's dialect (html.parser accepts `a < b`, which Telegram refuses), hence by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Required, TypedDict
from urllib.parse import urlsplit, urlunsplit

MAX_TEXT = 4096
MAX_CAPTION = 1024

# tag -> Bot API entity type; `span` only with class="tg-spoiler".
KINDS = {
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
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
# tdlib's is_space: the NUL that ends the text counts as one, which is how every scan stops.
_SPACE = frozenset(b" \t\n\r\v\f\0")
_NAMED = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
_SURROGATES_ERROR = (
    "Text contains invalid Unicode characters after decoding HTML entities, "
    "check for unmatched surrogate code units"
)


class MarkupError(ValueError):
    """Telegram's reason after "can't parse entities: "."""


class Entity(TypedDict, total=False):
    """A message entity as the Bot API's JSON has it (offsets and lengths in UTF-16 units)."""

    type: Required[str]
    offset: Required[int]
    length: Required[int]
    url: str  # text_link
    user: dict[str, int]  # text_mention: {"id": ...}
    language: str  # pre
    custom_emoji_id: str  # custom_emoji
    unix_time: int  # date_time


@dataclass
class Markup:
    """The text a client sees and its entities, as the Bot API returns them."""

    text: str
    entities: list[Entity] = field(default_factory=list)


@dataclass
class _Open:
    tag: str
    argument: str
    utf16_start: int
    text_start: int  # index into the output characters


def _is_alnum(byte: int) -> bool:
    return 48 <= byte <= 57 or 65 <= byte <= 90 or 97 <= byte <= 122


def _is_alpha(byte: int) -> bool:
    return 65 <= byte <= 90 or 97 <= byte <= 122


def _entity_at(data: bytes, pos: int) -> tuple[int, int] | None:
    """The character an `&...` reference at `pos` stands for and where the text goes on, or
    None when Telegram keeps the `&` as text. The `;` is optional, as in tdlib."""
    end = pos + 1
    if data[end] == 0x23:  # '#'
        end += 1
        if data[end] == 0x78:  # 'x'
            end += 1
            start = end
            while chr(data[end]) in "0123456789abcdefABCDEF":
                end += 1
            code = int(data[start:end], 16) if end > start else 0
        else:
            start = end
            while 48 <= data[end] <= 57:
                end += 1
            code = int(data[start:end]) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
    else:
        while _is_alpha(data[end]):
            end += 1
        named = _NAMED.get(bytes(data[pos + 1 : end]))
        if named is None:
            return None
        code = ord(named)
    return code, end + 1 if data[end] == 0x3B else end


def _checked_link(url: str) -> str | None:
    """The URL Telegram keeps for a text link, or None when it drops the link (the text stays)."""
    if not url or any(ch.isspace() for ch in url):
        return None
    lowered = url.lower()
    if lowered.startswith(("tg://", "ton://")):
        return url
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or "." not in (parts.hostname or ""):
        return None
    return urlunsplit(parts._replace(path=parts.path or "/"))


def _finish(tag: str, argument: str, start: int, length: int, inner: str) -> Entity | None:
    entity: Entity = {"type": KINDS[tag], "offset": start, "length": length}
    if tag == "a":
        url = argument or inner
        if url.startswith("tg://user?id=") and url[13:].isdigit():
            return {**entity, "type": "text_mention", "user": {"id": int(url[13:])}}
        checked = _checked_link(url)
        if checked is None:
            return None
        entity["url"] = checked
    elif tag == "tg-emoji":
        if not argument.lstrip("-").isdigit() or int(argument) == 0:
            raise MarkupError("Invalid custom emoji identifier specified")
        entity["custom_emoji_id"] = argument
    elif tag == "blockquote" and argument:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-time" and argument.isdigit():
        entity["unix_time"] = int(argument)
    return entity


def parse(source: str) -> Markup:
    """Telegram's reading of `source` in HTML parse mode; MarkupError with its words if refused."""
    data = source.encode("utf-8", "surrogatepass") + b"\0"
    size = len(data) - 1
    out: list[str] = []
    utf16 = 0
    entities: list[Entity] = []
    opened: list[_Open] = []
    surrogate = False
    i = 0
    while i < size:
        byte = data[i]
        if byte == 0x26:  # '&'
            decoded = _entity_at(data, i)
            if decoded is not None:
                code, i = decoded
                surrogate |= 0xD800 <= code <= 0xDFFF
                out.append(chr(code))
                utf16 += 2 if code > 0xFFFF else 1
                continue
        if byte != 0x3C:  # not '<': copy one character
            width = 1 if byte < 0x80 else 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            out.append(data[i : i + width].decode("utf-8", "surrogatepass"))
            utf16 += 2 if width == 4 else 1
            i += width
            continue

        begin = i
        i += 1
        if data[i] != 0x2F:  # a start tag
            while data[i] not in _SPACE and data[i] != 0x3E:
                i += 1
            if data[i] == 0:
                raise MarkupError(f"Unclosed start tag at byte offset {begin}")
            tag = data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in KINDS:
                raise MarkupError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            i, argument = _attributes(data, i, tag, begin)
            if tag == "span" and argument != "spoiler":
                raise MarkupError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            opened.append(_Open(tag, argument, utf16, len(out)))
            i += 1  # past '>'
            continue

        # an end tag
        if not opened:
            raise MarkupError(f"Unexpected end tag at byte offset {begin}")
        while data[i] not in _SPACE and data[i] != 0x3E:
            i += 1
        name = data[begin + 2 : i].decode("utf-8", "replace").lower()
        while data[i] in _SPACE and data[i] != 0:
            i += 1
        if data[i] != 0x3E:
            raise MarkupError(f"Unclosed end tag at byte offset {begin}")
        i += 1
        top = opened.pop()
        if name and name != top.tag:
            raise MarkupError(
                f'Unmatched end tag at byte offset {begin}, expected "</{top.tag}>", '
                f'found "</{name}>"'
            )
        if utf16 > top.utf16_start:
            inner = "".join(out[top.text_start :])
            made = _finish(top.tag, top.argument, top.utf16_start, utf16 - top.utf16_start, inner)
            if made is not None:
                _merge_pre_code(entities, made, top)
    if opened:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{opened[-1].tag}"')
    if surrogate:
        raise MarkupError(_SURROGATES_ERROR)
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return Markup("".join(out), entities)


def _merge_pre_code(entities: list[Entity], made: Entity, top: _Open) -> None:
    """`<pre><code class="language-x">` (either way round) is one pre entity with a language."""
    last = entities[-1] if entities else None
    if last is not None and (last["offset"], last["length"]) == (made["offset"], made["length"]):
        if top.tag == "pre" and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"
            return
        if top.tag == "code" and last["type"] == "pre" and top.argument:
            last["language"] = top.argument
            return
    if top.tag == "code" and top.argument:
        made["language"] = top.argument  # dropped at the end unless a pre claims it
    entities.append(made)


def _attributes(data: bytes, i: int, tag: str, begin: int) -> tuple[int, str]:
    """Read a start tag's attributes from `i` up to its '>'; return that position and the one
    argument Telegram keeps (href, language, spoiler class, emoji id, time, expandable)."""
    argument = ""
    while data[i] != 0x3E:
        while data[i] != 0 and data[i] in _SPACE:
            i += 1
        if data[i] == 0x3E:
            break
        name_start = i
        while data[i] not in _SPACE and data[i] not in b"=>":
            i += 1
        name = data[name_start:i].decode("utf-8", "replace")
        if not name:
            raise MarkupError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
        while data[i] != 0 and data[i] in _SPACE:
            i += 1
        if data[i] != 0x3D:  # '='
            if tag == "blockquote" and name == "expandable":
                argument = "expandable"
                continue
            raise MarkupError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {begin}'
            )
        i += 1
        while data[i] != 0 and data[i] in _SPACE:
            i += 1
        if data[i] == 0:
            raise MarkupError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        if data[i] in b"'\"":
            quote = data[i]
            i += 1
            value: list[str] = []
            while data[i] != quote and data[i] != 0:
                decoded = _entity_at(data, i) if data[i] == 0x26 else None
                if decoded is not None:
                    value.append(chr(decoded[0]))
                    i = decoded[1]
                    continue
                start = i
                i += 1
                while data[i] & 0xC0 == 0x80:  # the rest of a multi-byte character
                    i += 1
                value.append(data[start:i].decode("utf-8", "replace"))
            if data[i] == quote:
                i += 1
            text = "".join(value)
        else:
            token_start = i
            while _is_alnum(data[i]) or data[i] in b".-":
                i += 1
            text = data[token_start:i].decode("ascii").lower()
            if data[i] not in _SPACE and data[i] != 0x3E:
                raise MarkupError(f"Unexpected end of name token at byte offset {token_start}")
        if data[i] == 0:
            raise MarkupError(f"Unclosed start tag at byte offset {begin}")
        if (tag, name) in (("a", "href"), ("tg-emoji", "emoji-id"), ("tg-time", "unix")):
            argument = text
        elif tag == "code" and name == "class" and text.startswith("language-"):
            argument = text[len("language-") :]
        elif tag == "span" and name == "class" and text.startswith("tg-"):
            argument = text[len("tg-") :]
    return i, argument


def visible_length(markup: Markup) -> int:
    """Telegram's length limits count Unicode code points of the parsed text."""
    return len(markup.text)
