"""The dialog engine, by plain function calls: consent, the screening, red flags, results."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from dialogs.engine import Context, Stage, State, Step, step
from dialogs.events import (
    AnswerGiven,
    Back,
    Cancel,
    Consent,
    NewScreening,
    Resume,
    Start,
    StartOver,
    Unexpected,
    decode,
    encode,
)
from dialogs.questionnaire import load_questionnaire
from dialogs.render import labels
from dialogs.replies import Reply
from dialogs.telegram_html import check_message_html

Q = load_questionnaire()
URLS = {
    "pain_eliminator": "https://clinic.example/book/pe?lang=en",
    "tnt": "https://clinic.example/book/tnt",
    "laser": "https://clinic.example/book/laser",
}


def ctx(key: str = "KEY1") -> Context:
    return Context(Q, URLS, new_key=key, retention_days=730)


def valid(result: Step) -> Step:
    """Every reply is a message Telegram accepts: valid HTML within limits, good buttons."""
    for reply in result.replies:
        check_message_html(reply.text)
        buttons = [b for row in reply.buttons for b in row]
        assert len(buttons) <= 100 and all(len(row) <= 8 for row in reply.buttons)
        for button in buttons:
            assert button.text.strip()
            assert (button.data is None) != (button.url is None)
            if button.data is not None:
                assert 1 <= len(button.data.encode()) <= 64
    return result


def run(state: State, *events: object, key: str = "KEY1") -> Step:
    result = Step(state)
    for event in events:
        result = valid(step(result.state, event, ctx(key)))  # type: ignore[arg-type]
    return result


def consented(name: str = "Alice", tips: bool = True) -> Step:
    return run(State(first_name=name), Start(), Consent("health", True), Consent("tips", tips))


def answer_current(result: Step, option: str | None = None) -> Step:
    assert result.state.screening is not None
    question = Q.current(result.state.screening.answers)
    assert question is not None
    chosen = option or ("no" if question.gate else question.options[0].id)
    return run(result.state, AnswerGiven(result.state.screening.key, question.id, chosen))


def buttons(reply: Reply) -> list[str]:
    return [b.text for row in reply.buttons for b in row]


def test_welcome_then_health_consent_explains_what_why_how_long() -> None:
    result = run(State(first_name="Alice"), Start())
    assert result.state.stage is Stage.CONSENT_HEALTH
    welcome, consent = result.replies
    assert "Alice" in welcome.text
    for must in ("What is stored", "Why", "For how long", "730 days", "not a diagnosis"):
        assert must in consent.text
    assert buttons(consent) == [labels.agree, labels.decline]


def test_health_and_tips_consent_are_separate_then_screening_starts() -> None:
    after_health = run(State(), Start(), Consent("health", True))
    assert after_health.state.stage is Stage.CONSENT_TIPS
    assert after_health.state.health_consent is True
    assert after_health.state.tips_consent is None
    recorded, tips = after_health.replies
    assert recorded.replace and labels.agree in recorded.text and not recorded.buttons
    assert buttons(tips) == [labels.tips_yes, labels.tips_no]

    started = run(after_health.state, Consent("tips", False))
    assert started.state.stage is Stage.SCREENING
    assert started.state.tips_consent is False
    assert started.started == "KEY1"
    question = started.replies[-1]
    assert "Question 1 of 18" in question.text
    assert "safety questions" in question.text
    assert [e[0] for e in started.events] == ["consent_tips", "screening_started"]


def test_declining_health_consent_gives_general_info_and_a_way_back() -> None:
    declined = run(State(), Start(), Consent("health", False), Consent("tips", True))
    assert declined.state.stage is Stage.IDLE
    assert declined.state.health_consent is False
    assert declined.state.screening is None
    info = declined.replies[-1]
    urls = [b.url for row in info.buttons for b in row if b.url]
    assert len(urls) == 3 and all("ref=" not in u for u in urls)
    assert labels.changed_mind in buttons(info)
    back = run(declined.state, decode(info.buttons[-1][0].data))
    assert back.state.stage is Stage.SCREENING and back.state.health_consent is True


def test_whole_screening_to_a_result_with_booking_links() -> None:
    result = consented()
    chosen = {
        "stairs": "back",
        "chair": "pull",
        "stiffness": "rarely",
        "back_tires": "rarely",
        "duration": "gt3m",
        "severity": "8",
    }
    while result.state.stage is Stage.SCREENING:
        question = Q.current(result.state.screening.answers)
        result = answer_current(result, chosen.get(question.id))
    assert result.outcome.status == "completed"
    assert result.state.screening is None and result.state.stage is Stage.IDLE
    assert len(result.outcome.answers) == 18
    final = result.replies[0]
    assert final.replace
    assert "2 of the 5" in final.text
    for service in ("Pain Eliminator", "TNT Treatment and Training", "Deep Tissue Laser"):
        assert service in final.text
    assert "GP" in final.text  # tier C: pain for more than 6 weeks
    assert "Movement breaks help" in final.text
    assert final.text.rstrip().endswith("go to emergency care at once.")
    links = [b.url for row in final.buttons for b in row if b.url]
    assert len(links) == 3
    for link in links:
        query = parse_qs(urlsplit(link).query)
        assert query["ref"] == ["KEY1"] and query["utm_source"] == ["telegram"]
        assert not {"severity", "stairs", "answers", "pain"} & set(query)
    assert "lang=en" in links[0]
    assert buttons(final)[-2:] == [labels.talk_to_therapist, labels.remind_me]
    assert [e[0] for e in result.events] == ["screening_finished", "booking_shown"]


@pytest.mark.parametrize(("gate", "tier", "advice"), [(0, "A", "999"), (2, "B", "doctor today")])
def test_a_red_flag_ends_the_screening_at_once_without_sales(
    gate: int, tier: str, advice: str
) -> None:
    result = consented()
    for _ in range(gate):
        result = answer_current(result)
    result = answer_current(result, "yes")
    assert result.outcome.status == "red_flag" and result.outcome.tier == tier
    assert result.state.stage is Stage.IDLE
    (reply,) = result.replies
    assert advice in reply.text
    assert "emergency care at once" in reply.text
    assert not [b for row in reply.buttons for b in row if b.url], "no booking on this path"
    assert buttons(reply) == [labels.talk_to_therapist]
    assert "Pain Eliminator" not in reply.text and "Book" not in reply.text
    assert result.events == (("red_flag_exit", {"tier": tier}),)


def test_leg_pain_in_both_legs_later_is_also_tier_a() -> None:
    result = consented()
    chosen = {"duration": "lt6w"}
    while Q.current(result.state.screening.answers).id != "spread":
        question = Q.current(result.state.screening.answers)
        result = answer_current(result, chosen.get(question.id))
    result = answer_current(result, "both")
    assert result.outcome.tier == "A"


def test_back_changes_the_previous_answer() -> None:
    result = answer_current(answer_current(consented()))
    key = result.state.screening.key
    assert "Question 3 of 18" in result.replies[0].text
    assert labels.back in buttons(result.replies[0])
    back = run(result.state, Back(key, "rf_unwell"))
    assert back.state.screening.answers == (("rf_saddle", "no"),)
    assert "Question 2 of 18" in back.replies[0].text and back.replies[0].replace
    first = consented()
    assert labels.back not in buttons(first.replies[-1]), "no Back on the first question"


def test_stale_and_forged_presses_change_nothing() -> None:
    result = answer_current(answer_current(consented()))
    state = result.state
    key = state.screening.key
    for event in (
        AnswerGiven(key, "rf_saddle", "no"),  # an old question
        AnswerGiven(key, "rf_unwell", "maybe"),  # no such option
        AnswerGiven("OLDKEY", "rf_unwell", "no"),  # another screening
        Back(key, "rf_saddle"),
        Consent("health", False),
        NewScreening(),
        Resume("OLDKEY"),
        StartOver("OLDKEY"),
    ):
        stale = step(state, event, ctx())
        assert stale.stale and stale.state == state and stale.replies == ()
        assert stale.notice == labels.stale
    assert decode("a:x:y") is None and decode("zzz") is None and decode("a:" + "k" * 70) is None
    assert decode("a:<b>:q:o") is None


def test_start_mid_screening_offers_continue_or_start_over() -> None:
    result = answer_current(answer_current(consented()))
    key = result.state.screening.key
    prompt = run(result.state, Start())
    assert prompt.state == result.state
    assert "2 of 18" in prompt.replies[0].text
    assert buttons(prompt.replies[0]) == [labels.resume, labels.start_over]
    resumed = run(result.state, Resume(key))
    assert "Question 3 of 18" in resumed.replies[0].text
    fresh = run(result.state, StartOver(key), key="KEY2")
    assert fresh.outcome.status == "cancelled" and fresh.outcome.key == key
    assert fresh.started == "KEY2" and fresh.state.screening.answers == ()


def test_cancel_and_unexpected_input() -> None:
    result = answer_current(consented())
    (again,) = run(result.state, Unexpected()).replies  # one message: reminder and question
    assert "use the buttons" in again.text and "Question 2 of 18" in again.text
    assert len(again.buttons) == len(
        run(result.state, Resume(result.state.screening.key)).replies[0].buttons
    )
    cancelled = run(result.state, Cancel())
    assert cancelled.outcome.status == "cancelled" and cancelled.state.stage is Stage.IDLE
    assert buttons(cancelled.replies[0]) == [labels.new_check]
    assert "nothing to cancel" in run(cancelled.state, Cancel()).replies[0].text
    again = run(cancelled.state, NewScreening(), key="KEY3")
    assert again.started == "KEY3" and again.state.stage is Stage.SCREENING


def test_names_are_escaped_and_long_names_fit() -> None:
    result = run(State(first_name="<b>Bob & </i>" + "😀" * 60), Start())
    assert "&lt;b&gt;Bob &amp; &lt;/i&gt;" in result.replies[0].text


def test_callback_data_round_trip() -> None:
    for event in (
        Consent("health", True),
        Consent("tips", False),
        NewScreening(),
        AnswerGiven("abc-_12X", "rf_saddle", "yes"),
        Back("abc", "q"),
        Resume("abc"),
        StartOver("abc"),
    ):
        assert decode(encode(event)) == event
