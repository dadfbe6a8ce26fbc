"""Answers -> the client's profile: lazy-glute score, band, signs, services, tier C reasons,
and the contraindications that took a service out of the suggestions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from dialogs.questionnaire import Answers, Questionnaire


@dataclass(frozen=True)
class Result:
    """What a finished screening found. Stored as JSON with the screening."""

    points: int
    max_points: int
    band: str
    signs: tuple[str, ...]
    services: tuple[str, ...]
    tier_c: tuple[str, ...]
    contra: tuple[str, ...] = ()  # contraindications given; their services are not suggested

    def as_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        """A result as stored with its screening (`as_json`)."""
        lists = {k: tuple(v) for k, v in data.items() if isinstance(v, list)}
        return cls(**{**data, **lists})


def score(questionnaire: Questionnaire, answers: Answers) -> Result:
    """Score a completed screening. Pure: the same answers always give the same result."""
    given = dict(answers)
    points = 0
    max_points = 0
    signs: list[str] = []
    tier_c: list[str] = []
    contra: list[str] = []
    for question in questionnaire.questions:
        if question.gate:
            continue
        max_points += max(o.points for o in question.options)
        option = question.option(given.get(question.id, ""))
        if option is None:
            continue
        if option.contra and option.contra not in contra:
            contra.append(option.contra)
        points += option.points
        if question.sign and option.points >= 1:
            signs.append(question.sign)
        if option.tier_c and option.tier_c not in tier_c:
            tier_c.append(option.tier_c)
    for pattern in questionnaire.patterns:
        matches = all(given.get(qid) in allowed for qid, allowed in pattern.all_of.items())
        if matches and pattern.tier_c not in tier_c:
            tier_c.append(pattern.tier_c)
    band = [b.id for b in questionnaire.bands if points >= b.min][-1]
    removed = {s for c in contra for s in questionnaire.contraindications[c].services}
    services = [
        rule.service
        for rule in questionnaire.recommend
        if (
            rule.always
            or (rule.min_points is not None and points >= rule.min_points)
            or any(given.get(qid) in allowed for qid, allowed in rule.any_of.items())
        )
        and rule.service not in removed
        and not set(rule.unless_tier_c) & set(tier_c)
    ]
    return Result(
        points=points,
        max_points=max_points,
        band=band,
        signs=tuple(signs),
        services=tuple(dict.fromkeys(services)),
        tier_c=tuple(tier_c),
        contra=tuple(contra),
    )
