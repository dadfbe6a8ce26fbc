"""The clinic's answers to everyday questions (`faq.yaml` in its content): "how much is it?",
"where are you?", "are you open on Saturday?", "do you take insurance?".

Each entry has the words that ask it (per language; a `*` ends a word's stem: `price*`
matches "prices"), its answer (a template with the clinic's facts, or `hours`: the opening
hours, from the same data as the out-of-hours reply) and optional buttons. A message asks an
entry when all the words of one of its phrases come in it, in order and side by side, read
as the emergency check reads text (accents, look-alike letters and case aside). The first
entry in the file that a message asks wins. Typed text is checked for emergencies first,
always: an answer here never stands in for the urgent advice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dialogs.emergency import plain_words
from dialogs.events import FaqAsked
from dialogs.replies import Button, Keyboard

LANGUAGES = ("en",)  # the languages a phrase may be given in (more come with translations)
_ID = r"^[a-z0-9_]{1,12}$"  # short: ids travel in 64-byte callback data

Kind = Literal["text", "hours"]
ButtonKind = Literal["map", "website", "book", "team"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Entry(_Strict):
    """One everyday question: `title` is its button in /help."""

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1, max_length=40)
    asked_by: dict[Literal["en"], list[str]] = Field(min_length=1)
    kind: Kind = "text"
    answer: str | None = Field(default=None, min_length=1, max_length=3000)
    buttons: list[ButtonKind] = Field(default_factory=list, max_length=4)

    @field_validator("asked_by")
    @classmethod
    def _phrases(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for language, phrases in value.items():
            if not phrases:
                raise ValueError(f"{language}: give at least one phrase")
            for phrase in phrases:
                if not _is_phrase(phrase):
                    raise ValueError(
                        f"{language}: {phrase!r} is not words (a * may end a word's stem)"
                    )
        return value

    @model_validator(mode="after")
    def _answered(self) -> Entry:
        if (self.kind == "text") != (self.answer is not None):
            raise ValueError(
                "an answer is needed for kind text (and none for kind hours, which is made "
                "from clinic.yaml's hours)"
            )
        return self


class Faq(_Strict):
    version: int = Field(ge=1)
    entries: list[Entry] = Field(default_factory=list, max_length=24)

    @model_validator(mode="after")
    def _unique(self) -> Faq:
        seen: set[str] = set()
        for entry in self.entries:
            if entry.id in seen:
                raise ValueError(f"entries: the id {entry.id!r} is used twice")
            seen.add(entry.id)
        return self

    def buttons(self) -> Keyboard:
        """One button per entry, two to a row: /help's list of everyday questions."""
        pressed = [Button(e.title, FaqAsked(e.id)) for e in self.entries]
        return tuple(tuple(pressed[i : i + 2]) for i in range(0, len(pressed), 2))

    def get(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def match(self, text: str) -> Entry | None:
        """The first entry whose phrase `text` contains, or None."""
        words = plain_words(text)
        for entry, patterns in self._patterns:
            if any(_contains(words, pattern) for pattern in patterns):
                return entry
        return None

    @cached_property
    def _patterns(self) -> list[tuple[Entry, list[_Pattern]]]:
        return [
            (entry, [_Pattern.of(p) for phrases in entry.asked_by.values() for p in phrases])
            for entry in self.entries
        ]


@dataclass(frozen=True)
class _Pattern:
    words: tuple[str, ...]
    stems: tuple[bool, ...] = field(default=())

    @classmethod
    def of(cls, phrase: str) -> _Pattern:
        parts = phrase.split()
        words = tuple(plain_words(part)[0] for part in parts)
        return cls(words, tuple(part.endswith("*") for part in parts))


def _is_phrase(phrase: str) -> bool:
    """Words, each read as one word of a message, a `*` only at the end of one."""
    parts = phrase.split()
    return bool(parts) and all(
        "*" not in part.removesuffix("*") and len(plain_words(part)) == 1 for part in parts
    )


def _contains(words: list[str], pattern: _Pattern) -> bool:
    size = len(pattern.words)
    for start in range(len(words) - size + 1):
        if all(
            words[start + i].startswith(w) if stem else words[start + i] == w
            for i, (w, stem) in enumerate(zip(pattern.words, pattern.stems, strict=True))
        ):
            return True
    return False
