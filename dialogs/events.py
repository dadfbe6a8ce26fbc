"""Events the engine understands; those a button sends are kinds of button
(`dialogs.callbacks`), their data within Telegram's 64 bytes.

Each piece of data names the screening (its opaque key) and the question it answers, so a
press that does not match the current state is recognisably stale. Anything that does not
parse is forged or from an older version of the bot, and is treated as stale too.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Annotated, Literal

from dialogs.callbacks import ID, KEY, Press, press

# Who checked a held client and when, as the lifting of a hold asks it (dialogs.safety).
CheckKind = Literal["gp", "urgent", "specialist", "phone"]
CheckWhen = Literal["today", "yesterday", "week", "before"]
CHECK_KINDS: tuple[CheckKind, ...] = typing.get_args(CheckKind)
CHECK_WHEN: tuple[CheckWhen, ...] = typing.get_args(CheckWhen)
# What a step records for staff figures: (event kind, its data), as `storage.repo.record_event`
# stores them.
EventRows = tuple[tuple[str, dict[str, object]], ...]
Key = Annotated[str, KEY]
Id = Annotated[str, ID]


@dataclass(frozen=True)
class Start:
    """/start, optionally with a deep-link source."""

    source: str | None = None


@press("h:ask")
@dataclass(frozen=True)
class TalkToStaff(Press):
    """ "Talk to a therapist": the hand-off, which asks the client before anything is shared
    (bot.handlers.human)."""


@press("rs:open")
@dataclass(frozen=True)
class OpenReminders(Press):
    """ "Remind me to move": the reminder dialog's entry (dialogs.reminders)."""


@press("c")
@dataclass(frozen=True)
class Consent(Press):
    topic: Literal["health", "tips"]
    agree: bool


@press("n")
@dataclass(frozen=True)
class NewScreening(Press):
    """Begin a self-check from the idle state (after a result, or after saying yes later)."""


@press("a")
@dataclass(frozen=True)
class AnswerGiven(Press):
    key: Key
    question_id: Id
    option_id: Id


@press("b")
@dataclass(frozen=True)
class Back(Press):
    key: Key
    question_id: Id


@press("r")
@dataclass(frozen=True)
class Resume(Press):
    key: Key


@press("o")
@dataclass(frozen=True)
class StartOver(Press):
    key: Key


@dataclass(frozen=True)
class Cancel:
    """/cancel."""


@press("dr")
@dataclass(frozen=True)
class DoctorChecked(Press):
    """ "A doctor has checked me", then who checked them (`by`, one of CHECK_KINDS) and when
    (`when`, one of CHECK_WHEN): with both, the red-flag hold lifts (dialogs.safety)."""

    by: CheckKind | None = None
    when: CheckWhen | None = None


@press("ca")
@dataclass(frozen=True)
class CheckedAgain(Press):
    """The answer to "a doctor has checked this: is it new or worse since?", asked instead of
    holding the client again when a self-check's red-flag answer names a symptom a doctor
    has checked. `worse`: yes (the red flag holds, as any answer's); no: the self-check goes
    on with that answer given."""

    key: Key
    question_id: Id
    option_id: Id
    worse: bool


@dataclass(frozen=True)
class Emergency:
    """Free text that describes a tier A symptom (dialogs.emergency): the advice, at once.
    `talking`: the client is in a conversation with the clinic team, so their words go on to
    it anyway (marked urgent) and the advice offers no hand-off of its own."""

    symptom: str
    label: str
    talking: bool = False


@dataclass(frozen=True)
class DoctorToday:
    """Free text that describes a tier B sign (fever with the back pain, pain that wakes them
    at night, weight loss, a history of cancer, a fall or accident): the advice to see a
    doctor today and the offer of the self-check, whose safety questions ask about it."""

    symptom: str
    label: str
    talking: bool = False


@dataclass(frozen=True)
class Crisis:
    """Free text that speaks of self-harm or suicide: the crisis lines and a person, as the
    very next message. `negated`: only in denial ("I'm not going to..."), answered gently;
    `team_told`: the clinic team has just been alerted (what they write now goes to them)."""

    negated: bool = False
    talking: bool = False
    team_told: bool = False


@dataclass(frozen=True)
class Unexpected:
    """Free text, a sticker, a photo, an edit... where the bot expects a button. `media`: a
    sticker, photo, voice note or file with no text at all (nothing typed to read)."""

    media: bool = False


@press("fq")
@dataclass(frozen=True)
class FaqAsked(Press):
    """An everyday question (dialogs.faq), typed outside any question or tapped in /help."""

    entry: Id


Event = (
    Start
    | Consent
    | NewScreening
    | AnswerGiven
    | Back
    | Resume
    | StartOver
    | Cancel
    | DoctorChecked
    | CheckedAgain
    | Emergency
    | DoctorToday
    | Crisis
    | FaqAsked
    | Unexpected
)
