"""The questionnaire data file: the shipped one is valid and complete; broken ones are
reported with the place at fault."""

import re
from pathlib import Path

import pytest
import yaml

from dialogs.questionnaire import DEFAULT_PATH, QuestionnaireError, load_questionnaire


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(DEFAULT_PATH.read_text())


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "q.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_shipped_questionnaire_follows_the_issue_and_care_safety() -> None:
    q = load_questionnaire()
    gates = [x for x in q.questions if x.gate]
    main = [x for x in q.questions if not x.gate]
    assert q.questions[: len(gates)] == gates, "the red-flag gate comes first"
    assert {g.gate for g in gates} == {"A", "B"}
    assert 10 <= len(main) <= 15
    for gate in gates:
        *flags, none = gate.options
        assert none.id == "no" and none.red_flag is None
        for option in flags:
            assert option.red_flag == gate.gate and option.symptom in q.symptoms
    assert q.by_id["rf_chest"].gate == "A", "chest pain is an emergency (care-safety.md)"
    assert [x.id for x in main[-2:]] == ["ci_laser", "ci_hands"], "asked before the result"
    assert set(q.signs) == {"stairs", "chair", "stiffness", "back_tires", "squats"}
    assert {x.sign for x in main if x.sign} == set(q.signs)
    assert set(q.services) == {"pain_eliminator", "tnt", "laser"}
    assert [o.label for o in q.by_id["severity"].options] == [str(n) for n in range(11)]


def test_branching_skips_pain_questions_without_pain() -> None:
    q = load_questionnaire()
    answers = tuple(
        (x.id, x.options[-1].id if x.gate else x.options[0].id) for x in q.questions[:12]
    )
    assert q.current(answers).id == "duration"
    no_pain = (*answers, ("duration", "none"))
    assert q.current(no_pain).id == "ci_laser"
    assert len(q.path(no_pain)) == 15
    long_pain = (*answers, ("duration", "gt3m"))
    assert q.current(long_pain).id == "improving"
    assert len(q.path(long_pain)) == 21
    assert q.current((*answers, ("duration", "lt6w"))).id == "improving", "worse is asked too"
    assert len(q.path((*answers, ("duration", "lt6w")))) == 19


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["questions"].append(dict(d["questions"][0])), "'rf_nerves' appears twice"),
        (
            lambda d: d["questions"][6].update(show_if={"nowhere": ["x"]}),
            "show_if must name an earlier question, not 'nowhere'",
        ),
        (lambda d: d["questions"][6].update(text="I <3 glutes"), "not valid Telegram HTML"),
        (lambda d: d["questions"][6]["options"][0].update(red_flag="C"), "red_flag"),
        (lambda d: d["recommend"].append({"service": "yoga", "always": True}), "'yoga'"),
        (
            lambda d: d["questions"][0]["options"][0].pop("symptom"),
            "red_flag option 'saddle' needs a symptom",
        ),
        (
            lambda d: d["questions"][-1]["options"][0].update(contra="nope"),
            "unknown contraindication 'nope'",
        ),
        (lambda d: d["contraindications"]["laser"].update(services=["spa"]), "'spa'"),
        (lambda d: d["recommend"][2].update(unless_tier_c=["odd"]), "'odd'"),
        (
            lambda d: d["questions"].insert(6, d["questions"].pop(0)),
            "gate questions must come first",
        ),
        (
            lambda d: d["questions"][0]["options"][0].update(id="has space"),
            "questions.0.options.0.id",
        ),
    ],
)
def test_mistakes_are_reported_with_their_place(tmp_path: Path, raw: dict, change, message) -> None:  # type: ignore[no-untyped-def]
    change(raw)
    with pytest.raises(QuestionnaireError, match=re.escape(message)):
        load_questionnaire(write(tmp_path, raw))


def test_unquoted_yes_is_caught(tmp_path: Path) -> None:
    text = DEFAULT_PATH.read_text().replace(
        '{id: "no", label: "None of these"}', "{id: no, label: None of these}", 1
    )
    path = tmp_path / "q.yaml"
    path.write_text(text)
    with pytest.raises(QuestionnaireError, match=re.escape("questions.0.options.3.id")):
        load_questionnaire(path)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(QuestionnaireError, match="cannot read"):
        load_questionnaire(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("questions: [")
    with pytest.raises(QuestionnaireError, match="not valid YAML"):
        load_questionnaire(bad)
