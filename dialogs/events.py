"""Events the engine understands, and their callback data within Telegram's 64 bytes.

Each piece of data names the screening (its opaque key) and the question it answers, so a
press that does not match the current state is recognisably stale. Anything that does not
parse is forged or from an older version of the bot, and is treated as stale too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MAX_BYTES = 64
# Who checked a held client and when, as the lifting of a hold asks it (dialogs.safety).
CHECK_KINDS = ("gp", "urgent", "specialist", "phone")
CHECK_WHEN = ("today", "yesterday", "week", "before")
_PART = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


@dataclass(frozen=True)
class Start:
    """/start, optionally with a deep-link source."""

    source: str | None = None


@dataclass(frozen=True)
class Consent:
    topic: Literal["health", "tips"]
    agree: bool


@dataclass(frozen=True)
class NewScreening:
    """Begin a self-check from the idle state (after a result, or after saying yes later)."""


@dataclass(frozen=True)
class AnswerGiven:
    key: str
    question_id: str
    option_id: str


@dataclass(frozen=True)
class Back:
    key: str
    question_id: str


@dataclass(frozen=True)
class Resume:
    key: str


@dataclass(frozen=True)
class StartOver:
    key: str


@dataclass(frozen=True)
class Cancel:
    """/cancel."""


@dataclass(frozen=True)
class DoctorChecked:
    """ "A doctor has checked me", then who checked them (`by`, one of CHECK_KINDS) and when
    (`when`, one of CHECK_WHEN): with both, the red-flag hold lifts (dialogs.safety)."""

    by: str | None = None
    when: str | None = None


@dataclass(frozen=True)
class CheckedAgain:
    """The answer to "a doctor has checked this: is it new or worse since?", asked instead of
    holding the client again when a self-check's red-flag answer names a symptom a doctor
    has checked. `worse`: yes (the red flag holds, as any answer's); no: the self-check goes
    on with that answer given."""

    key: str
    question_id: str
    option_id: str
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
    | Unexpected
)

_TOPICS = {"h": "health", "t": "tips"}


def encode(event: Event) -> str:
    """The callback data for a button that sends `event`."""
    match event:
        case Consent(topic, agree):
            data = f"c:{topic[0]}:{int(agree)}"
        case NewScreening():
            data = "n"
        case DoctorChecked(by, when):
            data = ":".join(part for part in ("dr", by, when) if part)
        case CheckedAgain(key, qid, oid, worse):
            data = f"ca:{key}:{qid}:{oid}:{int(worse)}"
        case AnswerGiven(key, qid, oid):
            data = f"a:{key}:{qid}:{oid}"
        case Back(key, qid):
            data = f"b:{key}:{qid}"
        case Resume(key):
            data = f"r:{key}"
        case StartOver(key):
            data = f"o:{key}"
        case _:
            raise ValueError(f"{event!r} is not sent by a button")
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode(data: str | None) -> Event | None:
    """The event a button press stands for, or None for data this version never made."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    kind, *parts = data.split(":")
    if not all(_PART.match(p) for p in parts):
        return None
    match kind, parts:
        case "c", [topic, agree] if topic in _TOPICS and agree in ("0", "1"):
            return Consent(_TOPICS[topic], agree == "1")  # type: ignore[arg-type]
        case "n", []:
            return NewScreening()
        case "dr", []:
            return DoctorChecked()
        case "dr", [by] if by in CHECK_KINDS:
            return DoctorChecked(by)
        case "dr", [by, when] if by in CHECK_KINDS and when in CHECK_WHEN:
            return DoctorChecked(by, when)
        case "ca", [key, qid, oid, worse] if worse in ("0", "1"):
            return CheckedAgain(key, qid, oid, worse == "1")
        case "a", [key, qid, oid]:
            return AnswerGiven(key, qid, oid)
        case "b", [key, qid]:
            return Back(key, qid)
        case "r", [key]:
            return Resume(key)
        case "o", [key]:
            return StartOver(key)
    return None
