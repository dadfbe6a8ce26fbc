"""The questionnaire data file: loading, validation and the questions' order and branching.

The clinic edits `questionnaire.yaml`; pydantic checks its shape and `_check_references`
checks that every id it mentions exists, so a typo is reported with where it is, at start.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from dialogs.clinic import Service, shipped_clinic
from dialogs.content_file import ContentError, Located
from dialogs.telegram_html import HtmlError, parse_html

DEFAULT_PATH = Path(__file__).parent / "pack" / "questionnaire.yaml"
_ID = r"^[A-Za-z0-9_]{1,12}$"  # short: ids travel in 64-byte callback data
Answers = tuple[tuple[str, str], ...]  # (question id, option id) in the order given


class QuestionnaireError(ContentError):
    """The data file is malformed; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    id: str = Field(pattern=_ID)
    label: str = Field(min_length=1, max_length=64)
    red_flag: Literal["A", "B"] | None = None
    points: int = Field(default=0, ge=0, le=2)
    tier_c: str | None = None
    symptom: str | None = None
    contra: str | None = None


class Question(_Strict):
    id: str = Field(pattern=_ID)
    text: str = Field(min_length=1, max_length=1500)
    gate: Literal["A", "B"] | None = None
    sign: str | None = None
    show_if: dict[str, list[str]] = Field(default_factory=dict)
    options: list[Option] = Field(min_length=2, max_length=24)
    columns: int | None = Field(default=None, ge=1, le=8)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def is_shown(self, given: dict[str, str]) -> bool:
        """Whether branching asks this question, given the answers so far."""
        return all(given.get(qid) in allowed for qid, allowed in self.show_if.items())


class Band(_Strict):
    id: str = Field(pattern=_ID)
    min: int = Field(ge=0)
    text: str = Field(min_length=1, max_length=600)


class Recommendation(_Strict):
    service: str
    always: bool = False
    min_points: int | None = None
    any_of: dict[str, list[str]] = Field(default_factory=dict)
    unless_tier_c: list[str] = Field(default_factory=list)


class Contraindication(_Strict):
    services: list[str] = Field(min_length=1)
    line: str = Field(min_length=1, max_length=400)
    staff: str = Field(min_length=1, max_length=200)


class Pattern(_Strict):
    tier_c: str
    all_of: dict[str, list[str]]


class Questionnaire(_Strict):
    version: int = Field(ge=1)
    signs: dict[str, str]
    symptoms: dict[str, str] = Field(default_factory=dict)
    bands: list[Band] = Field(min_length=1)
    # The clinic's services (clinic.yaml), joined in by `load_questionnaire`.
    services: dict[str, Service] = Field(default_factory=dict)
    recommend: list[Recommendation] = Field(min_length=1)
    tier_c: dict[str, str] = Field(default_factory=dict)
    contraindications: dict[str, Contraindication] = Field(default_factory=dict)
    patterns: list[Pattern] = Field(default_factory=list)
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_references(self, info: ValidationInfo) -> Questionnaire:
        services = (info.context or {}).get("services", self.services)
        seen: set[str] = set()
        for q in self.questions:
            where = f"question {q.id!r}"
            if q.id in seen:
                raise ValueError(f"{where} appears twice")
            for qid, allowed in q.show_if.items():
                earlier = next((e for e in self.questions if e.id == qid), None)
                if qid not in seen or earlier is None:
                    raise ValueError(f"{where}: show_if must name an earlier question, not {qid!r}")
                _check_options(f"{where} show_if", earlier, allowed)
            seen.add(q.id)
            if q.sign is not None and q.sign not in self.signs:
                raise ValueError(f"{where}: unknown sign {q.sign!r}")
            if q.gate and not any(o.red_flag == q.gate for o in q.options):
                raise ValueError(f"{where}: a gate {q.gate} question needs a red_flag option")
            if len({o.id for o in q.options}) != len(q.options):
                raise ValueError(f"{where}: two options share an id")
            for o in q.options:
                if o.tier_c is not None and o.tier_c not in self.tier_c:
                    raise ValueError(f"{where}: unknown tier_c reason {o.tier_c!r}")
                if o.red_flag and o.symptom not in self.symptoms:
                    raise ValueError(
                        f"{where}: red_flag option {o.id!r} needs a symptom from `symptoms`"
                    )
                if o.contra is not None and o.contra not in self.contraindications:
                    raise ValueError(f"{where}: unknown contraindication {o.contra!r}")
            _check_html(where, q.text)
        gates_done = False
        for q in self.questions:
            if q.gate is None:
                gates_done = True
            elif gates_done:
                raise ValueError(f"question {q.id!r}: red-flag gate questions must come first")
        by_id = {q.id: q for q in self.questions}
        for rule in self.recommend:
            if rule.service not in services:
                raise ValueError(f"recommend: unknown service {rule.service!r}")
            for reason in rule.unless_tier_c:
                if reason not in self.tier_c:
                    raise ValueError(f"recommend: unknown tier_c reason {reason!r}")
            for qid, allowed in rule.any_of.items():
                _check_options("recommend", by_id.get(qid), allowed, qid)
        for pattern in self.patterns:
            if pattern.tier_c not in self.tier_c:
                raise ValueError(f"patterns: unknown tier_c reason {pattern.tier_c!r}")
            for qid, allowed in pattern.all_of.items():
                _check_options("patterns", by_id.get(qid), allowed, qid)
        for cid, contra in self.contraindications.items():
            for service in contra.services:
                if service not in services:
                    raise ValueError(f"contraindications {cid!r}: unknown service {service!r}")
        if sorted(b.min for b in self.bands) != [b.min for b in self.bands] or self.bands[0].min:
            raise ValueError("bands must start at min 0 and go up")
        for band in self.bands:
            _check_html(f"band {band.id!r}", band.text)
        return self

    @cached_property
    def by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    def flagged_symptoms(self, tier: str) -> list[str]:
        """The plain-words symptoms whose answer is a red flag of this tier, in order."""
        found = [
            self.symptoms[o.symptom]
            for q in self.questions
            for o in q.options
            if o.red_flag == tier and o.symptom
        ]
        return list(dict.fromkeys(found))

    @property
    def gate_count(self) -> int:
        return sum(1 for q in self.questions if q.gate)

    def path(self, answers: Answers) -> list[Question]:
        """The questions asked so far plus the rest as branching would ask them now.

        Questions whose branching depends on an answer not yet given count as asked, so the
        progress total never shrinks by surprise on the way; it may only drop when a branch
        is skipped.
        """
        given = dict(answers)
        return [q for q in self.questions if _maybe_shown(q, given)]

    def current(self, answers: Answers) -> Question | None:
        """The next question to ask after these answers, or None when the screening is done."""
        given = dict(answers)
        for q in self.questions:
            if q.id not in given and q.is_shown(given):
                return q
        return None


def _check_html(where: str, text: str) -> None:
    try:
        parse_html(text)
    except HtmlError as exc:
        raise ValueError(f"{where}: text is not valid Telegram HTML: {exc}") from None


def _maybe_shown(question: Question, given: dict[str, str]) -> bool:
    return all(
        qid not in given or given[qid] in allowed for qid, allowed in question.show_if.items()
    )


def _check_options(
    where: str, question: Question | None, allowed: list[str], qid: str = ""
) -> None:
    if question is None:
        raise ValueError(f"{where}: unknown question {qid!r}")
    known = {o.id for o in question.options}
    for option_id in allowed:
        if option_id not in known:
            raise ValueError(f"{where}: question {question.id!r} has no option {option_id!r}")


def load_questionnaire(
    path: Path = DEFAULT_PATH, services: Mapping[str, Service] | None = None
) -> Questionnaire:
    """Read and validate the data file with the clinic's services (default: the shipped
    clinic's); raise QuestionnaireError naming the line and field at fault."""
    if services is None:
        services = shipped_clinic().services
    try:
        located = Located.read(path)
        questionnaire = located.model(Questionnaire, services=services)
    except ContentError as exc:
        raise QuestionnaireError(exc.problems) from None
    return questionnaire.model_copy(update={"services": dict(services)})


def short_label_columns(question: Question) -> int:
    """Buttons per row: the data file's choice, else by label length (phones are narrow)."""
    if question.columns:
        return question.columns
    longest = max(len(o.label) for o in question.options)
    return 1 if longest > 14 else 2 if longest > 6 else 4
