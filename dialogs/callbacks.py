"""The one codec for callback data: every kind of button is a small typed record.

A button kind is a frozen dataclass registered with `@press("prefix")` (a prefix may hold a
colon, as "h:ask" does). Its fields, in order, are the parts after the prefix, joined by
colons: `AnswerGiven("k3Y", "rf_legs", "no")` is "a:k3Y:rf_legs:no". A field is one of

- `int`: a whole number, 0 or more;
- `bool`: "1" or "0";
- `date`: yyyymmdd;
- a `Literal` of words;
- `str`, as `Annotated[str, Part(pattern)]` (a regex every value must match in full, bounded
  so that the whole fits Telegram's 64 bytes);
- any of these `| None = None`: a trailing part that may be left off.

`encode` refuses data over 64 bytes; `decode` gives the record back, or None for anything
this version never made (forged, truncated, from an older version): the press is answered
as out of date and changes nothing. `staff_only` marks the kinds only STAFF_IDS may press.
Hand-written: callback data is a few typed fields behind a prefix, which no library of the
ecosystem codes (PTB's arbitrary callback data keeps objects in memory, lost on a restart and
not shared between replicas).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Literal, TypeVar

MAX_BYTES = 64
_SEPARATOR = ":"
_PREFIX = re.compile(r"^[a-z]{1,4}(?::[a-z]{1,4})?$")


@dataclass(frozen=True)
class Part:
    """The pattern a `str` field's value must match in full."""

    pattern: str


KEY = Part(r"[A-Za-z0-9_-]{1,12}")  # a screening's opaque key (secrets.token_urlsafe(6))
ID = Part(r"[A-Za-z0-9_]{1,12}")  # a question's or option's id (dialogs.questionnaire)


class Press:
    """A kind of button: its prefix (set by `@press`) and whether only staff may press it."""

    prefix: ClassVar[str] = ""
    staff_only: ClassVar[bool] = False


P = TypeVar("P", bound=type[Press])
_Parse = Callable[[str], object]
_Show = Callable[[Any], str]


@dataclass(frozen=True)
class _Field:
    name: str
    parse: _Parse  # raises ValueError for a part it does not accept
    show: _Show
    optional: bool


@dataclass(frozen=True)
class _Kind:
    cls: type[Press]
    fields: tuple[_Field, ...]

    @property
    def required(self) -> int:
        return sum(not f.optional for f in self.fields)


KINDS: dict[str, _Kind] = {}  # by prefix


def press(prefix: str, *, staff_only: bool = False) -> Callable[[P], P]:
    """Register a frozen dataclass as a kind of button with `prefix`."""

    def register(cls: P) -> P:
        if not _PREFIX.match(prefix) or prefix in KINDS:
            raise ValueError(f"{cls.__name__}: prefix {prefix!r} is malformed or taken")
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__}: a button kind is a frozen dataclass")
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = tuple(_field(cls, f.name, hints[f.name]) for f in dataclasses.fields(cls))
        if any(a.optional and not b.optional for a, b in itertools.pairwise(fields)):
            raise TypeError(f"{cls.__name__}: optional fields come last")
        cls.prefix, cls.staff_only = prefix, staff_only
        KINDS[prefix] = _Kind(cls, fields)
        return cls

    return register


def encode(record: object) -> str:
    """The callback data for a button that sends `record` (ValueError: not a button kind, a
    field out of its bounds, or over 64 bytes)."""
    kind = KINDS.get(getattr(record, "prefix", ""))
    if kind is None or type(record) is not kind.cls:
        raise ValueError(f"{record!r} is not a kind of button")
    parts = [kind.cls.prefix]
    for field in kind.fields:
        value = getattr(record, field.name)
        if value is None:
            break  # optional from here on: left off
        shown = field.show(value)
        field.parse(shown)  # the same rules both ways: what is sent can be read back
        parts.append(shown)
    data = _SEPARATOR.join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None) -> Press | None:
    """The record a press stands for, or None for data this version never made."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    pieces = data.split(_SEPARATOR)
    for length in (2, 1):  # a two-part prefix ("h:ask") before a one-part one ("h")
        if len(pieces) < length:
            continue
        kind = KINDS.get(_SEPARATOR.join(pieces[:length]))
        if kind is None:
            continue
        parts = pieces[length:]
        if not kind.required <= len(parts) <= len(kind.fields):
            return None
        try:
            values = [field.parse(part) for field, part in zip(kind.fields, parts, strict=False)]
        except ValueError:
            return None
        return kind.cls(*values)
    return None


def kinds() -> list[type[Press]]:
    """Every registered kind of button."""
    return [kind.cls for kind in KINDS.values()]


def _field(cls: type, name: str, hint: Any) -> _Field:
    optional = False
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"{cls.__name__}.{name}: one type or None")
        hint, optional = args[0], True
    parse, show = _codec(cls, name, hint)
    return _Field(name, parse, show, optional)


def _codec(cls: type, name: str, hint: Any) -> tuple[_Parse, _Show]:
    origin = typing.get_origin(hint)
    if hint is int:
        return _int, str
    if hint is bool:
        return _bool, lambda v: "1" if v else "0"
    if hint is date:
        return _date, lambda v: v.strftime("%Y%m%d")
    if origin is Literal:
        words = tuple(str(a) for a in typing.get_args(hint))
        return _one_of(words), str
    if origin is typing.Annotated:
        base, *extras = typing.get_args(hint)
        part = next((e for e in extras if isinstance(e, Part)), None)
        if base is str and part is not None:
            return _matching(re.compile(part.pattern)), str
    raise TypeError(f"{cls.__name__}.{name}: not a type callback data can carry: {hint!r}")


def _int(part: str) -> int:
    if not part.isascii() or not part.isdigit() or len(part) > 19:
        raise ValueError(part)
    return int(part)


def _bool(part: str) -> bool:
    if part not in ("0", "1"):
        raise ValueError(part)
    return part == "1"


def _date(part: str) -> date:
    if len(part) != 8 or not part.isascii() or not part.isdigit():
        raise ValueError(part)
    return date(int(part[:4]), int(part[4:6]), int(part[6:]))  # ValueError if no such day


def _one_of(words: tuple[str, ...]) -> _Parse:
    def parse(part: str) -> str:
        if part not in words:
            raise ValueError(part)
        return part

    return parse


def _matching(pattern: re.Pattern[str]) -> _Parse:
    def parse(part: str) -> str:
        if not pattern.fullmatch(part):
            raise ValueError(part)
        return part

    return parse
