"""Scoring: the same answers always give the same, explainable result."""

from dialogs.questionnaire import load_questionnaire
from dialogs.scoring import score

Q = load_questionnaire()
GATES_NO = tuple((q.id, "no") for q in Q.questions if q.gate)


def answers(**chosen: str) -> tuple[tuple[str, str], ...]:
    return GATES_NO + tuple(chosen.items())


def test_no_signs_no_pain_recommends_nothing_but_moving() -> None:
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
    assert result.services == ()
    assert result.tier_c == ()
    in_pain = score(Q, answers(stairs="glutes", duration="lt6w", severity="2", onset="20_44"))
    assert in_pain.services == ("pain_eliminator",), "pain is worth an assessment"


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
    # An inflammatory pattern: the GP check comes first, so no laser ahead of it.
    assert result.services == ("pain_eliminator", "tnt")
    assert result.tier_c == ("not_improving", "inflammatory")
    late_onset = score(Q, answers(duration="gt3m", severity="7", onset="45_50", eases="yes"))
    assert late_onset.services == ("pain_eliminator", "laser")
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


PAINFUL = {"stairs": "back", "chair": "pull", "duration": "gt3m", "severity": "7", "onset": "45_50"}


def test_a_contraindication_removes_exactly_its_service() -> None:
    plain = score(Q, answers(**PAINFUL, ci_laser="no", ci_hands="no"))
    assert plain.services == ("pain_eliminator", "tnt", "laser") and plain.contra == ()
    for laser in ("yes", "unsure"):
        no_laser = score(Q, answers(**PAINFUL, ci_laser=laser, ci_hands="no"))
        assert no_laser.services == ("pain_eliminator", "tnt")
        assert no_laser.contra == ("laser",)
    no_hands = score(Q, answers(**PAINFUL, ci_laser="no", ci_hands="yes"))
    assert no_hands.services == ("pain_eliminator", "laser")
    assert no_hands.contra == ("hands_on",)
    both = score(Q, answers(**PAINFUL, ci_laser="yes", ci_hands="yes"))
    assert both.services == ("pain_eliminator",)


def test_pain_getting_worse_is_tier_c() -> None:
    worse = score(Q, answers(duration="6w3m", improving="worse", onset="20_44"))
    assert worse.tier_c == ("worsening",)
    same = score(Q, answers(duration="6w3m", improving="same", onset="20_44"))
    assert same.tier_c == ("not_improving",)
    early_but_worse = score(Q, answers(duration="lt6w", improving="worse", onset="20_44"))
    assert early_but_worse.tier_c == ("worsening",), "worse is worse, however recent"
    early_and_same = score(Q, answers(duration="lt6w", improving="same", onset="20_44"))
    assert early_and_same.tier_c == (), "not improving yet is expected in the first weeks"
