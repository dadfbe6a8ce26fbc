"""A client's safety status: the red-flag gate that every part of the bot obeys.

Tier A (emergency now) or B (a doctor today) *holds* the client: no booking buttons, no
service suggestions, no tips, no movement prompts, and the urgent advice first wherever they
turn, until they say a doctor has checked them. Tier C (book, but see a GP too) holds nothing.
Pure: the bot loads a `Safety` from the client's row; storage gates its own queries on the
same tiers (`storage.repo.NOT_HELD`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dialogs.events import DoctorChecked, encode
from dialogs.render import labels, render
from dialogs.replies import Button, Keyboard, Reply

HOLDING_TIERS = ("A", "B")
TALK_TO_STAFF = "h:ask"  # the hand-off's entry (bot.handlers.human)


@dataclass(frozen=True)
class Safety:
    """`tier` A, B, C or None; `symptom` the id that set it, `label` it in plain words."""

    tier: str | None = None
    symptom: str | None = None
    label: str = ""
    since: datetime | None = None

    @property
    def holds(self) -> bool:
        return self.tier in HOLDING_TIERS


def urgent_advice(safety: Safety) -> str:
    """The urgent advice for a held client, to stand first in whatever the bot says next."""
    return render("safety_hold", short=True, **_facts(safety))


def hold_reply(safety: Safety, *, replace: bool = False) -> Reply:
    """What a held client gets instead of anything that would move on from the red flag:
    the advice again, a person to talk to, and the way to lift the hold."""
    return Reply(
        render("safety_hold", short=False, **_facts(safety)), hold_buttons(), replace=replace
    )


def hold_buttons() -> Keyboard:
    return (
        (Button(labels.doctor_checked, encode(DoctorChecked())),),
        (Button(labels.talk_to_therapist, TALK_TO_STAFF),),
    )


def _facts(safety: Safety) -> dict[str, object]:
    return {"tier": safety.tier, "label": safety.label, "since": safety.since}
