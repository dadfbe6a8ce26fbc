"""A client's safety status: the red-flag gate that every part of the bot obeys.

Tier A (emergency now) or B (a doctor today) *holds* the client: no booking buttons, no
service suggestions, no tips, no movement prompts, and the urgent advice first wherever they
turn, until they say a doctor has checked them. Tier C (book, but see a GP too) holds nothing.
Pure: the bot loads a `Safety` from the client's row; storage gates its own queries on the
same tiers (`storage.repo.NOT_HELD`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dialogs.events import DoctorChecked, TalkToStaff
from dialogs.render import labels, render
from dialogs.replies import Button, Keyboard, Reply
from dialogs.statuses import Tier

HOLDING_TIERS = (Tier.A, Tier.B)
# After crisis words nothing is sold (booking buttons, the services link, tips) for this long
# (care-safety.md, "Crisis words": "nothing is sold in that answer or after it that day").
CRISIS_QUIET = timedelta(hours=24)


# A doctor's check of a tier A symptom takes hours (an emergency department, a scan): "a doctor
# has checked me" is not offered this soon after one, so one tap seconds after "I can't pee"
# cannot lift the hold (the advice says from when it can).
TIER_A_LIFT_WAIT = timedelta(hours=6)


@dataclass(frozen=True)
class Checked:
    """A symptom a doctor has checked, as the client told it: on which day (`when` "week":
    within the week before `on`; "before": before the red flag of `on`), and who."""

    symptom: str
    on: date
    by: str
    when: str
    label: str = ""

    def as_json(self) -> dict[str, str]:
        return {"on": self.on.isoformat(), "by": self.by, "when": self.when}


@dataclass(frozen=True)
class Safety:
    """`tier` A, B, C or None; `symptom` the id that set it, `label` it in plain words,
    `since` when (clinic time). `lift_at`: not before this may the client say a doctor has
    checked them (a tier A hold's first hours); `liftable` whether that time has come."""

    tier: str | None = None
    symptom: str | None = None
    label: str = ""
    since: datetime | None = None
    lift_at: datetime | None = None
    liftable: bool = True

    @property
    def holds(self) -> bool:
        return self.tier in HOLDING_TIERS

    def as_of(self, now: datetime) -> Safety:
        """The same status at `now` (a tier A hold's first hours may have passed)."""
        return held_since(self.tier, self.symptom, self.label, self.since, now)


def held_since(
    tier: str | None, symptom: str | None, label: str, since: datetime | None, now: datetime
) -> Safety:
    """A safety status as of `now`: whether a doctor's check may be told yet."""
    lift_at = since + TIER_A_LIFT_WAIT if tier == Tier.A and since is not None else None
    liftable = lift_at is None or now >= lift_at
    return Safety(tier, symptom, label, since, lift_at if not liftable else None, liftable)


def checked_on(when: str, today: date, flagged: date | None) -> date:
    """The day a doctor's check is remembered by ("before": the red flag's day)."""
    offsets = {"today": 0, "yesterday": 1, "week": 0}
    if when == "before":
        return flagged or today
    return today - timedelta(days=offsets[when])


def urgent_advice(safety: Safety) -> str:
    """The urgent advice for a held client, to stand first in whatever the bot says next."""
    return render("safety_hold", short=True, **_facts(safety))


def hold_reply(safety: Safety, *, replace: bool = False) -> Reply:
    """What a held client gets instead of anything that would move on from the red flag:
    the advice again, a person to talk to, and the way to lift the hold."""
    return Reply(
        render("safety_hold", short=False, **_facts(safety)), hold_buttons(safety), replace=replace
    )


def hold_buttons(safety: Safety) -> Keyboard:
    """A person to talk to, and, once it may be told (`Safety.liftable`), a doctor's check."""
    talk = (Button(labels.talk_to_therapist, TalkToStaff()),)
    if not safety.liftable:
        return (talk,)
    return ((Button(labels.doctor_checked, DoctorChecked()),), talk)


def _facts(safety: Safety) -> dict[str, object]:
    return {
        "tier": safety.tier,
        "label": safety.label,
        "since": safety.since,
        "lift_at": safety.lift_at,
    }
