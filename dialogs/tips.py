"""The clinic's library of ready tips (`tips.yaml`), which staff pick with /tips.

The clinic edits the file without touching code, so it is checked as strictly as a tip a staff
member types: pydantic checks its shape, then every text goes through `check_tip`. Any fault
is one line naming the file, the tip and the problem, so it can be fixed before a client sees it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialogs.render import render
from dialogs.staff_text import TipError, check_tip

DEFAULT_PATH = Path(__file__).parent / "pack" / "tips.yaml"
TITLE_MAX = 40  # the title is a button: longer ones are cut off on a phone
_ID = r"^[a-z0-9_]{1,24}$"  # short: ids travel in 64-byte callback data
_ID_LINE_RE = re.compile(r"^\s*-\s*id:\s*['\"]?([^'\"\s#]+)")


class TipLibraryError(ValueError):
    """The tips file is malformed; the one-line message names the file, the tip and why."""


@dataclass(frozen=True)
class LibraryTip:
    """One checked tip from the library: `title` is its button, `text` its template."""

    id: str
    title: str
    text: str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Entry(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    text: str = Field(min_length=1)


class _Library(_Strict):
    version: int = Field(ge=1)
    tips: list[_Entry] = Field(min_length=1)


def load_tips(path: Path | None = None) -> tuple[LibraryTip, ...]:
    """The tips in file order; TipLibraryError if any is unfit to send.

    The shipped file is read once (it cannot change while the bot runs); another path, as in
    tests or `bmx-bot check`, is read afresh each time.
    """
    return _load_default() if path is None else _load(path)


def find_tip(tips: Iterable[LibraryTip], tip_id: str) -> LibraryTip | None:
    """The tip with this id, or None: a button may outlive an edit of the file."""
    return next((t for t in tips if t.id == tip_id), None)


@cache
def _load_default() -> tuple[LibraryTip, ...]:
    return _load(DEFAULT_PATH)


def _load(path: Path) -> tuple[LibraryTip, ...]:
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TipLibraryError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise TipLibraryError(f"{path}: {_yaml_problem(exc, source)}") from None
    try:
        library = _Library.model_validate(raw)
    except ValidationError as exc:
        raise TipLibraryError(f"{path}: {_shape_problem(exc, raw)}") from None
    tips: list[LibraryTip] = []
    seen_titles: dict[str, str] = {}
    for entry in library.tips:
        where = f"tip {entry.id!r}"
        if find_tip(tips, entry.id):
            raise TipLibraryError(f"{path}: {where}: the id is used twice")
        title = entry.title.strip()
        if not title:
            raise TipLibraryError(f"{path}: {where}: title is empty")
        if "\n" in title:
            raise TipLibraryError(f"{path}: {where}: title must be one line (it is a button)")
        if title.casefold() in seen_titles:
            other = seen_titles[title.casefold()]
            raise TipLibraryError(f"{path}: {where}: same title as tip {other!r}")
        seen_titles[title.casefold()] = entry.id
        try:
            check_tip(entry.text)
        except TipError as exc:
            reason = html.unescape(render("staff/tip_reason", error=exc))
            raise TipLibraryError(f"{path}: {where}: {reason}") from None
        tips.append(LibraryTip(entry.id, title, entry.text))
    return tuple(tips)


def _yaml_problem(exc: yaml.YAMLError, source: str) -> str:
    """PyYAML's message spans several lines; keep the reason, the line and the tip it is in."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"not valid YAML: {problem}"
    tip_id = None
    for text in source.splitlines()[: mark.line + 1]:
        if match := _ID_LINE_RE.match(text):
            tip_id = match.group(1)
    near = f" (in tip {tip_id!r})" if tip_id else ""
    return f"line {mark.line + 1}{near}: not valid YAML: {problem}"


def _shape_problem(exc: ValidationError, raw: Any) -> str:
    """The first pydantic error as the clinic would say it: which tip, which field, what."""
    error = exc.errors()[0]
    loc = error["loc"]
    if len(loc) >= 2 and loc[0] == "tips" and isinstance(loc[1], int):
        index = loc[1]
        entry = raw["tips"][index]
        tip_id = entry.get("id") if isinstance(entry, dict) else None
        where = f"tip {tip_id!r}" if isinstance(tip_id, str) else f"tip #{index + 1} (no id)"
        field = str(loc[2]) if len(loc) > 2 else ""
    else:
        where = ".".join(str(part) for part in loc) or "the file"
        field = ""
    kind, given = error["type"], error.get("input")
    if kind == "missing":
        problem = f"missing {field}" if field else "missing"
    elif kind == "extra_forbidden":
        problem = f"unknown field {field!r}"
    elif kind == "string_too_short":
        problem = f"{field} is empty"
    elif kind == "string_too_long" and field == "title":
        problem = f"title is {len(given)} characters, at most {TITLE_MAX} (it is a button)"
    elif kind == "string_pattern_mismatch" and field == "id":
        problem = f"id {given!r} must be 1 to 24 of a-z, 0-9 and _"
    elif kind == "string_type" and field:
        problem = f"{field} must be text (put it in quotes)"
    else:
        message = error["msg"].removeprefix("Value error, ")
        problem = f"{field}: {message}" if field else message
    return f"{where}: {problem}"
