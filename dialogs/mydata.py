"""/mydata in plain words: what the bot holds about a client, as readable messages.

Pure: the bot gathers the facts from the rows (`bot.handlers.privacy`), this module words them
with the `mydata.j2` template (question and answer labels from the questionnaire, never ids;
times in the client's zone) and packs the result into messages within Telegram's length,
cutting only between whole blocks, so no message ends inside a tag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from dialogs.progress import Checkin
from dialogs.questionnaire import Answers, Questionnaire
from dialogs.render import render
from dialogs.safety import Checked, Safety
from dialogs.statuses import PlanStatus
from dialogs.telegram_html import MAX_TEXT, parse_html, utf16_len

_ESCAPED = re.compile(r"&[a-z]+;|.", re.S)
CUT = "\x00"  # between the template's blocks; never in a name or a question (Telegram strips it)


@dataclass(frozen=True)
class Check:
    """The latest finished self-check."""

    status: str  # completed | red_flag
    finished_at: datetime | None
    answers: Answers = ()
    result: dict[str, Any] | None = None
    tier: str | None = None


@dataclass(frozen=True)
class Plan:
    """Movement-break reminder settings, as stored."""

    status: str  # setup | active | paused | asking | off
    days: str  # seven 0/1 flags, Monday first
    start_minute: int
    end_minute: int
    interval_seconds: int
    timezone: str


@dataclass(frozen=True)
class Facts:
    first_name: str
    username: str | None
    since: datetime
    source: str | None = None
    health_consent: bool | None = None
    health_consent_at: datetime | None = None
    tips_consent: bool | None = None
    tips_consent_at: datetime | None = None
    safety: Safety = field(default_factory=Safety)
    safety_cleared_at: datetime | None = None
    checked: tuple[Checked, ...] = ()  # symptoms a doctor has checked, as they told it
    check: Check | None = None
    answered_now: int | None = None  # answers so far in a self-check in progress
    plan: Plan | None = None
    handoffs: int = 0
    checkins: tuple[Checkin, ...] = ()  # weekly pain check-ins, oldest first


def zone_of(facts: Facts, clinic_zone: ZoneInfo) -> ZoneInfo:
    """The client's own zone once their reminders are set up, else the clinic's."""
    if facts.plan is not None and facts.plan.status != PlanStatus.SETUP:
        try:
            return ZoneInfo(facts.plan.timezone)
        except (KeyError, ValueError):
            pass
    return clinic_zone


def summary(
    facts: Facts, questionnaire: Questionnaire, clinic_zone: ZoneInfo, *, limit: int = MAX_TEXT
) -> list[str]:
    """The readable summary as one or more Telegram HTML messages, each within `limit`."""
    zone = zone_of(facts, clinic_zone)
    text = render(
        "mydata",
        cut=Markup(CUT),
        f=facts,
        zone=zone.key,
        at=lambda moment: _local(moment, zone),
        check=_check(facts.check, questionnaire),
        days=[i for i, flag in enumerate(facts.plan.days) if flag == "1"] if facts.plan else [],
        hhmm=lambda minute: f"{minute // 60 % 24:02d}:{minute % 60:02d}",
    )
    blocks = [b.strip() for b in text.split(CUT) if b.strip()]
    return pack(blocks, limit)


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%d %b %Y, %H:%M")


def _check(check: Check | None, q: Questionnaire) -> dict[str, Any] | None:
    """The latest self-check with every id turned into the words the client saw."""
    if check is None:
        return None
    pairs = []
    for qid, oid in check.answers:
        question = q.by_id.get(qid)
        option = question.option(oid) if question else None
        if question is not None and option is not None:  # a question since removed: left out
            pairs.append({"question": Markup(question.text), "answer": option.label})
    result = check.result or {}
    bands = {b.id: b.text for b in q.bands}
    contra = q.contraindications
    return {
        "status": check.status,
        "tier": check.tier,
        "finished_at": check.finished_at,
        "pairs": pairs,
        "band": Markup(bands[result["band"]]) if result.get("band") in bands else None,
        "signs": [q.signs[s] for s in result.get("signs", ()) if s in q.signs],
        "sign_total": len(q.signs),
        "services": [q.services[s].name for s in result.get("services", ()) if s in q.services],
        "tier_c": [q.tier_c[r] for r in result.get("tier_c", ()) if r in q.tier_c],
        "contra": [contra[c].line for c in result.get("contra", ()) if c in contra],
        "has_result": bool(result),
    }


def pack(blocks: list[str], limit: int = MAX_TEXT) -> list[str]:
    """Whole blocks joined into as few messages as fit `limit` (Telegram counts UTF-16 units
    of the text without tags; the source with its tags is never shorter). A block too long on
    its own is sent as escaped plain text in pieces, so nothing is cut inside a tag."""
    pieces = (
        piece
        for block in blocks
        for piece in ([block] if utf16_len(block) <= limit else _plain_pieces(block, limit))
    )
    return _fill(pieces, "\n\n", limit)


def _plain_pieces(block: str, limit: int) -> list[str]:
    """A block as escaped plain text in pieces within `limit`: whole lines where they fit,
    a line longer than that in slices."""
    lines = parse_html(block).text.splitlines()
    parts = (part for line in lines for part in _slices(escape(line, quote=False), limit))
    return [piece for piece in _fill(parts, "\n", limit) if piece.strip()]


def _fill(parts: Iterable[str], separator: str, limit: int) -> list[str]:
    """`parts` (each within `limit`) joined by `separator`, in order, into as few texts
    within `limit` as hold them."""
    texts: list[str] = []
    current = ""
    for part in parts:
        joined = f"{current}{separator}{part}" if current else part
        if utf16_len(joined) <= limit:
            current = joined
            continue
        texts.append(current)
        current = part
    if current:
        texts.append(current)
    return texts


def _slices(line: str, limit: int) -> list[str]:
    """An escaped line in slices within `limit`, never inside an entity such as &amp;."""
    slices, current = [], ""
    for match in _ESCAPED.finditer(line):
        unit = match.group()
        if current and utf16_len(current + unit) > limit:
            slices.append(current)
            current = ""
        current += unit
    return [*slices, current] if current or not slices else slices
