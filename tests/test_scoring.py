"""Scoring: the same answers always give the same, explainable result."""

from dialogs.questionnaire import load_questionnaire
from dialogs.scoring import score

Q = load_questionnaire()
GATES_NO = tuple((q.id, "no") for q in Q.questions if q.gate)


def answers(**chosen: str) -> tuple[tuple[str, str], ...]:
    return GATES_NO + tuple(chosen.items())


def test_no_signs_no_pain_recommends_the_assessment_only() -> None:
    result = score(
        Q,
        answers(
            sitting="lt4",
            stairs="glutes",
            chair="push",
            stiffness="rarely",
            back_tires="rarely",
            squats="glutes",
            duration="none",
        ),
    )
    assert result.signs == ()
    assert result.band == "low"
    assert result.services == ("pain_eliminator",)
    assert result.tier_c == ()


def test_classic_lazy_glutes_with_long_pain() -> None:
    result = score(
        Q,
        answers(
            sitting="12p",
            stairs="back",
            chair="pull",
            stiffness="often",
            back_tires="often",
            squats="back",
            duration="gt3m",
            improving="same",
            severity="7",
            spread="no",
            onset="20_44",
            eases="yes",
            buttock="yes",
        ),
    )
    assert result.signs == ("stairs", "chair", "stiffness", "back_tires", "squats")
    assert result.points == result.max_points == 12
    assert result.band == "strong"
    assert result.services == ("pain_eliminator", "tnt", "laser")
    assert result.tier_c == ("not_improving", "inflammatory")
    getting_better = score(Q, answers(duration="6w3m", improving="better", onset="20_44"))
    assert getting_better.tier_c == ()


def test_some_signs_and_age_of_onset() -> None:
    result = score(
        Q,
        answers(
            sitting="8_11",
            stairs="thighs",
            chair="unsure",
            stiffness="sometimes",
            back_tires="sometimes",
            squats="none",
            duration="lt6w",
            severity="3",
            spread="above_knee",
            onset="gt50",
        ),
    )
    assert result.signs == ("stairs", "stiffness", "back_tires")
    assert result.points == 4
    assert result.band == "some"
    assert result.services == ("pain_eliminator", "tnt")
    assert result.tier_c == ("onset_older",)
