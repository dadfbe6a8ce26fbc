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
    DoctorChecked,
    Emergency,
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
    return Context(Q, URLS, new_key=key, retention_days=730, website="https://clinic.example/")


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
    safe_no = question.gate or any(o.contra for o in question.options)
    chosen = option or ("no" if safe_no else question.options[0].id)
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
    assert "Question 1 of 21" in question.text
    assert "safety questions" in question.text
    assert [e[0] for e in started.events] == ["consent_tips", "screening_started"]


def test_declining_health_consent_gives_general_info_and_a_way_back() -> None:
    declined = run(State(), Start(), Consent("health", False), Consent("tips", True))
    assert declined.state.stage is Stage.IDLE
    assert declined.state.health_consent is False
    assert declined.state.screening is None
    info = declined.replies[-1]
    urls = [b.url for row in info.buttons for b in row if b.url]
    assert urls == ["https://clinic.example/"], "no particular service: the clinic's site"
    for service in ("Pain Eliminator", "TNT", "Laser"):
        assert service not in info.text
    urgent = info.text.index("999")
    assert urgent < info.text.index("website"), "urgent symptoms come before any link"
    for symptom in ("between the legs", "bladder", "chest pain", "fever", "cancer"):
        assert symptom in info.text[: info.text.index("website")]
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
        "onset": "45_50",
        "improving": "same",
    }
    while result.state.stage is Stage.SCREENING:
        question = Q.current(result.state.screening.answers)
        result = answer_current(result, chosen.get(question.id))
    assert result.outcome.status == "completed"
    assert result.state.screening is None and result.state.stage is Stage.IDLE
    assert len(result.outcome.answers) == 21
    final = result.replies[0]
    assert final.replace
    assert "2 of the 5" in final.text
    for service in ("Pain Eliminator", "TNT Treatment and Training", "Deep Tissue Laser"):
        assert service in final.text
    assert "GP" in final.text  # tier C: pain not improving after 6 weeks
    assert result.state.safety.tier == "C" and not result.state.safety.holds
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


# Every red-flag option of the questionnaire: its tier and the symptom its message names.
RED_FLAGS = [
    ("rf_nerves", "saddle", "A", "numbness or tingling between the legs"),
    ("rf_nerves", "bladder", "A", "difficulty passing urine or loss of bladder control"),
    ("rf_nerves", "bowel", "A", "loss of bowel control"),
    ("rf_legs", "legs_weak", "A", "weakness in the legs or trouble walking"),
    ("rf_legs", "both_legs", "A", "pain or numbness spreading down both legs"),
    ("rf_chest", "chest", "A", "chest pain"),
    ("rf_unwell", "fever", "B", "fever, chills or feeling unwell"),
    ("rf_unwell", "cancer", "B", "a past diagnosis of cancer"),
    ("rf_unwell", "weight", "B", "weight loss without trying"),
    ("rf_injury", "injury", "B", "started after a fall, accident or injury"),
    ("rf_injury", "immune", "B", "a weakened immune system"),
    ("rf_pattern", "constant", "B", "constant back pain that rest does not ease"),
    ("rf_pattern", "night", "B", "disturbs sleep at night"),
    ("rf_pattern", "upper", "B", "mainly in the upper or middle back"),
    ("spread", "both", "A", "pain or numbness spreading down both legs"),
]
ADVICE = {"A": ("999", "A&amp;E"), "B": ("doctor today", "NHS 111")}


def test_the_table_covers_every_red_flag_option() -> None:
    in_data = {(q.id, o.id) for q in Q.questions for o in q.options if o.red_flag}
    assert in_data == {(qid, oid) for qid, oid, _, _ in RED_FLAGS}


def red_flag(question_id: str, option_id: str) -> Step:
    result = consented()
    chosen = {"duration": "lt6w"}
    while Q.current(result.state.screening.answers).id != question_id:
        question = Q.current(result.state.screening.answers)
        result = answer_current(result, chosen.get(question.id))
    return answer_current(result, option_id)


@pytest.mark.parametrize(("question", "option", "tier", "symptom"), RED_FLAGS)
def test_a_red_flag_ends_the_screening_at_once_without_sales(
    question: str, option: str, tier: str, symptom: str
) -> None:
    result = red_flag(question, option)
    assert result.outcome.status == "red_flag" and result.outcome.tier == tier
    assert result.state.stage is Stage.IDLE
    assert result.state.safety.tier == tier and result.state.safety.holds
    (reply,) = result.replies
    for advice in ADVICE[tier]:
        assert advice in reply.text
    assert symptom in reply.text, "the client can tell which symptom was flagged"
    assert "appear later" not in reply.text or tier == "B", "never 'if it appears later'"
    assert "won't suggest treatments or send movement-break reminders or tips" in reply.text
    assert not [b for row in reply.buttons for b in row if b.url], "no booking on this path"
    assert buttons(reply) == [labels.talk_to_therapist]
    assert "Pain Eliminator" not in reply.text and "Book" not in reply.text
    assert result.events == (("red_flag_exit", {"tier": tier, "symptom": result.outcome.symptom}),)


@pytest.mark.parametrize(
    ("question", "option", "tier"), [("rf_chest", "chest", "A"), ("rf_unwell", "fever", "B")]
)
def test_a_held_client_gets_the_advice_first_until_a_doctor_has_checked_them(
    question: str, option: str, tier: str
) -> None:
    held = red_flag(question, option).state
    for event in (Start(), NewScreening(), Unexpected()):
        (reply,) = run(held, event).replies
        assert ADVICE[tier][0] in reply.text
        assert buttons(reply) == [labels.doctor_checked, labels.talk_to_therapist]
        assert not [b for row in reply.buttons for b in row if b.url]
    assert run(held, NewScreening()).state == held, "no new self-check while held"
    lifted = run(held, DoctorChecked())
    assert not lifted.state.safety.holds and lifted.state.safety.tier is None
    assert buttons(lifted.replies[0]) == [labels.new_check]
    assert lifted.events == (("safety_lifted", {"tier": tier}),)
    again = run(lifted.state, NewScreening(), key="KEY9")
    assert again.started == "KEY9" and again.state.stage is Stage.SCREENING
    assert run(lifted.state, DoctorChecked()).stale, "a second tap changes nothing"


def test_back_changes_the_previous_answer() -> None:
    result = answer_current(answer_current(consented()))
    key = result.state.screening.key
    assert "Question 3 of 21" in result.replies[0].text
    assert labels.back in buttons(result.replies[0])
    back = run(result.state, Back(key, "rf_chest"))
    assert back.state.screening.answers == (("rf_nerves", "no"),)
    assert "Question 2 of 21" in back.replies[0].text and back.replies[0].replace
    first = consented()
    assert labels.back not in buttons(first.replies[-1]), "no Back on the first question"


def test_stale_and_forged_presses_change_nothing() -> None:
    result = answer_current(answer_current(consented()))
    state = result.state
    key = state.screening.key
    for event in (
        AnswerGiven(key, "rf_nerves", "no"),  # an old question
        AnswerGiven(key, "rf_chest", "maybe"),  # no such option
        AnswerGiven("OLDKEY", "rf_chest", "no"),  # another screening
        Back(key, "rf_nerves"),
        DoctorChecked(),  # nothing is held
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
    assert "2 of 21" in prompt.replies[0].text
    assert buttons(prompt.replies[0]) == [labels.resume, labels.start_over]
    resumed = run(result.state, Resume(key))
    assert "Question 3 of 21" in resumed.replies[0].text
    fresh = run(result.state, StartOver(key), key="KEY2")
    assert fresh.outcome.status == "cancelled" and fresh.outcome.key == key
    assert fresh.started == "KEY2" and fresh.state.screening.answers == ()


def test_cancel_and_unexpected_input() -> None:
    result = answer_current(consented())
    (again,) = run(result.state, Unexpected()).replies  # one message: reminder and question
    assert "use the buttons" in again.text and "Question 2 of 21" in again.text
    assert len(again.buttons) == len(
        run(result.state, Resume(result.state.screening.key)).replies[0].buttons
    )
    cancelled = run(result.state, Cancel())
    assert cancelled.outcome.status == "cancelled" and cancelled.state.stage is Stage.IDLE
    assert buttons(cancelled.replies[0]) == [labels.new_check]
    assert "nothing to cancel" in run(cancelled.state, Cancel()).replies[0].text
    again = run(cancelled.state, NewScreening(), key="KEY3")
    assert again.started == "KEY3" and again.state.stage is Stage.SCREENING


def test_only_the_question_is_marked_live_and_cancel_says_what_it_deletes() -> None:
    result = answer_current(consented())
    (question,) = result.replies
    assert question.live and question.replace
    (again,) = run(result.state, Unexpected()).replies
    assert again.live and not again.replace
    (prompt,) = run(result.state, Start()).replies  # continue or start over: not the question
    assert not prompt.live
    (stopped,) = run(result.state, Cancel()).replies
    assert not stopped.live
    assert "deleted the answers you gave in this self-check" in stopped.text
    assert "earlier results" in stopped.text


def test_media_gets_its_own_reminder_with_the_question() -> None:
    result = answer_current(consented())
    (typed,) = run(result.state, Unexpected()).replies
    (media,) = run(result.state, Unexpected(media=True)).replies
    assert "can't read typed answers" in typed.text and "stickers" not in typed.text
    assert "can't use stickers, photos" in media.text and "typed answers" not in media.text
    assert "tap one of the buttons" in media.text and "Question 2 of 21" in media.text
    assert media.live and media.buttons == typed.buttons
    check_message_html(media.text)
    consent = run(State(stage=Stage.CONSENT_HEALTH), Unexpected(media=True)).replies[0]
    assert "can't use stickers, photos" in consent.text and consent.buttons


def test_names_are_escaped_and_long_names_fit() -> None:
    result = run(State(first_name="<b>Bob & </i>" + "😀" * 60), Start())
    assert "&lt;b&gt;Bob &amp; &lt;/i&gt;" in result.replies[0].text


def test_callback_data_round_trip() -> None:
    for event in (
        Consent("health", True),
        Consent("tips", False),
        NewScreening(),
        AnswerGiven("abc-_12X", "rf_nerves", "saddle"),
        DoctorChecked(),
        Back("abc", "q"),
        Resume("abc"),
        StartOver("abc"),
    ):
        assert decode(encode(event)) == event


def test_an_emergency_typed_anywhere_gets_the_tier_a_advice_first() -> None:
    emergency = Emergency("bladder", "trouble passing urine")
    new = run(State(first_name="Alice"), Start()).state  # asked for health consent
    mid = answer_current(consented()).state
    idle = red_flag("rf_unwell", "fever").state
    idle = run(idle, DoctorChecked()).state
    declined = run(State(), Start(), Consent("health", False), Consent("tips", True)).state
    tips_asked = run(State(), Start(), Consent("health", True)).state
    for state, holds in (
        (new, False),
        (declined, False),
        (mid, True),
        (idle, True),
        (tips_asked, True),
    ):
        result = run(state, emergency)
        (advice,) = result.replies
        assert advice.text.startswith("<b>Please get urgent medical help now.</b>")
        assert not [b for row in advice.buttons for b in row if b.url]
        assert result.state.safety.holds is holds, state.stage
        if holds:  # stored only with health consent, under the questionnaire's own words
            assert result.state.safety.symptom == "bladder"
            assert "bladder control" in advice.text
    ended = run(mid, emergency)
    assert ended.outcome.status == "red_flag" and ended.outcome.tier == "A"
    assert not ended.replies[0].replace, "a typed message: the question stays, the advice follows"
    after_tips = run(run(tips_asked, emergency).state, Consent("tips", True))
    assert after_tips.state.stage is Stage.IDLE and after_tips.started is None, "no self-check"
    assert labels.doctor_checked in buttons(after_tips.replies[-1])
