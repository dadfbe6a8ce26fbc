"""The dialog engine, by plain function calls: consent, the screening, red flags, results."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from dialogs.callbacks import decode, encode
from dialogs.engine import Context, Stage, State, Step, result_text, step
from dialogs.events import (
    AnswerGiven,
    Back,
    Cancel,
    CheckedAgain,
    Consent,
    Crisis,
    DoctorChecked,
    DoctorToday,
    Emergency,
    NewScreening,
    Resume,
    Start,
    StartOver,
    Unexpected,
)
from dialogs.questionnaire import load_questionnaire
from dialogs.render import labels
from dialogs.replies import Reply
from dialogs.scoring import Result
from dialogs.telegram_html import check_message_html

Q = load_questionnaire()
URLS = {
    "pain_eliminator": "https://clinic.example/book/pe?lang=en",
    "tnt": "https://clinic.example/book/tnt",
    "laser": "https://clinic.example/book/laser",
}


NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def ctx(key: str = "KEY1", now: datetime = NOW) -> Context:
    return Context(
        Q, URLS, new_key=key, retention_days=730, website="https://clinic.example/", now=now
    )


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


def run(state: State, *events: object, key: str = "KEY1", now: datetime = NOW) -> Step:
    result = Step(state)
    for event in events:
        result = valid(step(result.state, event, ctx(key, now)))  # type: ignore[arg-type]
    return result


def consented(name: str = "Alice", tips: bool = True) -> Step:
    return run(State(first_name=name), Start(), Consent("health", True), Consent("tips", tips))


def answer_current(result: Step, option: str | None = None, now: datetime = NOW) -> Step:
    assert result.state.screening is not None
    question = Q.current(result.state.screening.answers)
    assert question is not None
    safe_no = question.gate or any(o.contra for o in question.options)
    chosen = option or ("no" if safe_no else question.options[0].id)
    event = AnswerGiven(result.state.screening.key, question.id, chosen)
    return run(result.state, event, now=now)


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
    assert result.events == (("red_flag_exit", {"tier": tier}),), "no symptom beside the rows"


LATER = NOW + timedelta(hours=7)  # past a tier A hold's first hours


@pytest.mark.parametrize(
    ("question", "option", "tier"), [("rf_chest", "chest", "A"), ("rf_unwell", "fever", "B")]
)
def test_a_held_client_gets_the_advice_first_until_a_doctor_has_checked_them(
    question: str, option: str, tier: str
) -> None:
    held = red_flag(question, option).state
    for event in (Start(), NewScreening(), Unexpected()):
        (reply,) = run(held, event, now=LATER).replies
        assert ADVICE[tier][0] in reply.text
        assert buttons(reply) == [labels.doctor_checked, labels.talk_to_therapist]
        assert not [b for row in reply.buttons for b in row if b.url]
    assert run(held, NewScreening()).state == held, "no new self-check while held"
    # Lifting asks who checked them, then when; only with both does the hold lift.
    (who,) = run(held, DoctorChecked(), now=LATER).replies
    assert "Who checked you?" in who.text and labels.check_gp in buttons(who)
    (when,) = run(held, DoctorChecked("gp"), now=LATER).replies
    assert when.replace and labels.check_when_yesterday in buttons(when)
    assert run(held, DoctorChecked("gp"), now=LATER).state.safety.holds, "not lifted yet"
    lifted = run(held, DoctorChecked("gp", "yesterday"), now=LATER)
    assert not lifted.state.safety.holds and lifted.state.safety.tier is None
    assert buttons(lifted.replies[0]) == [labels.new_check]
    assert lifted.events == (("safety_lifted", {"tier": tier, "by": "gp"}),)
    assert lifted.lifted == held.safety.as_of(LATER), "the team may be told"
    (remembered,) = lifted.state.checked
    assert (remembered.symptom, remembered.on) == (option, (LATER - timedelta(days=1)).date())
    again = run(lifted.state, NewScreening(), key="KEY9")
    assert again.started == "KEY9" and again.state.stage is Stage.SCREENING
    assert run(lifted.state, DoctorChecked("gp", "today")).stale, "a second tap changes nothing"


def test_a_tier_a_hold_cannot_be_lifted_in_its_first_hours() -> None:
    held = red_flag("rf_nerves", "bladder").state
    (advice,) = run(held, Start()).replies
    assert labels.doctor_checked not in buttons(advice), "not offered seconds after it"
    assert "from 18:00" in advice.text, "the advice says from when"
    for press in (DoctorChecked(), DoctorChecked("gp", "today")):
        early = run(held, press, now=NOW + timedelta(minutes=1))
        assert early.stale and early.state == held
        assert early.notice == labels.lift_not_yet.format(time="18:00")
    assert not run(held, DoctorChecked("gp", "today"), now=LATER).state.safety.holds
    tier_b = red_flag("rf_unwell", "fever").state
    assert labels.doctor_checked in buttons(run(tier_b, Start()).replies[0]), "B: at once"


def test_a_symptom_a_doctor_checked_asks_new_or_worse_instead_of_holding_again() -> None:
    held = red_flag("rf_unwell", "cancer").state
    lifted = run(held, DoctorChecked("specialist", "before")).state
    retake = run(lifted, NewScreening(), key="KEY2")
    while Q.current(retake.state.screening.answers).id != "rf_unwell":
        retake = answer_current(retake)
    asked = answer_current(retake, "cancer")
    (question,) = asked.replies
    assert "has checked a past diagnosis of cancer (before 07 Dec)" in question.text
    assert question.live and question.replace
    assert buttons(question) == [labels.checked_worse, labels.checked_same, labels.back]
    assert not asked.state.safety.holds and asked.outcome is None, "not held again"
    worse = run(asked.state, CheckedAgain("KEY2", "rf_unwell", "cancer", worse=True))
    assert worse.state.safety.holds and worse.outcome.status == "red_flag"
    same = run(asked.state, CheckedAgain("KEY2", "rf_unwell", "cancer", worse=False))
    assert same.state.screening.answers[-1] == ("rf_unwell", "cancer")
    result = finish(same).replies[-1]
    assert "no worse since" in result.text and "a past diagnosis of cancer" in result.text
    assert [b for row in result.buttons for b in row if b.url], "booking is open"
    assert run(asked.state, CheckedAgain("KEY2", "rf_unwell", "fever", worse=False)).stale
    # A symptom never checked still holds at once.
    other = answer_current(retake, "fever")
    assert other.state.safety.holds


def test_a_result_once_held_reads_without_suggestions_or_booking() -> None:
    done = finish(consented())
    result = done.replies[-1]
    assert result.booking and "What we'd suggest" in result.text
    stored = done.outcome.result
    held = result_text("Alice", stored, Q, held=True)
    assert "What we'd suggest" not in held and "Suggestions on hold" in held
    assert "Booking with us is still fine" not in held
    check_message_html(held)
    assert Result.from_json(stored.as_json()) == stored


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
    assert "send /start again from 18:00" in after_tips.replies[-1].text


def finish(result: Step, now: datetime = NOW) -> Step:
    """Answer every question left with the first option (no red flag)."""
    while result.state.screening is not None:
        result = answer_current(result, now=now)
    return result


def test_crisis_words_get_the_lines_and_a_person_and_nothing_is_sold_that_day() -> None:
    mid = answer_current(consented()).state
    idle = finish(consented()).state
    new = run(State(first_name="Alice"), Start()).state
    for state in (State(), new, mid, idle):
        result = run(state, Crisis())
        (answer,) = result.replies
        assert "116 123" in answer.text and "988" in answer.text and "999" in answer.text
        assert labels.talk_to_someone in buttons(answer), "a person to reach"
        assert all(b.url and "book" not in b.url for row in answer.buttons for b in row if b.url)
        assert result.state.crisis_at == NOW
        assert result.state.screening == state.screening, "a self-check in progress waits"
        assert result.outcome is None and not result.state.safety.holds
    gently = run(idle, Crisis(negated=True)).replies[0].text
    assert "Thank you for telling me" in gently and "116 123" in gently
    told = run(idle, Crisis(team_told=True)).replies[0]
    assert "let the team at the clinic know" in told.text
    assert labels.talk_to_someone not in buttons(told), "they are talking to the team now"
    talking = run(idle, Crisis(talking=True)).replies[0]
    assert "passing your message on" in talking.text

    # Nothing sold that day: a self-check finished within the day has no booking buttons...
    after = replace(mid, crisis_at=NOW)
    quiet = finish(Step(after)).replies[-1]
    assert not [b for row in quiet.buttons for b in row if b.url], "no booking links"
    assert labels.talk_to_therapist in buttons(quiet)
    # ...and a day later booking is back.
    later = finish(Step(after), now=NOW + timedelta(hours=25)).replies[-1]
    assert [b for row in later.buttons for b in row if b.url]


def test_a_tier_b_sign_typed_gets_a_doctor_today_and_the_self_check_offered() -> None:
    fever = DoctorToday("fever", "a fever or feeling unwell with your back pain")
    idle = finish(consented()).state
    result = run(idle, fever)
    (advice,) = result.replies
    assert advice.text.startswith("🩺 <b>Please see a doctor today.</b>")
    assert "a fever or feeling unwell" in advice.text
    assert buttons(advice) == [labels.new_check, labels.talk_to_therapist]
    assert not result.state.safety.holds, "the words alone hold nothing"
    assert "I'm an automated assistant" not in advice.text

    declined = run(State(), Start(), Consent("health", False), Consent("tips", True)).state
    assert buttons(run(declined, fever).replies[0])[0] == labels.changed_mind

    # Mid-self-check, before its safety questions got there: they will ask about it.
    started = consented().state
    ahead = run(started, fever).replies[0]
    assert "next safety questions ask about this" in ahead.text
    assert labels.start_over not in buttons(ahead)
    # Past the question that asked about it: answering the safety questions again is offered.
    past = started
    while past.screening is not None and len(past.screening.answers) < 6:
        past = answer_current(Step(past)).state
    again = run(past, fever).replies[0]
    assert labels.start_over in buttons(again)

    # A new client's first words: the advice, then the welcome and the consent question.
    first = run(State(first_name="Alice"), fever)
    assert len(first.replies) == 3 and first.state.stage is Stage.CONSENT_HEALTH
    # Someone already held hears their hold's advice again.
    held = red_flag("rf_chest", "chest").state
    assert "Please get urgent medical help first" in run(held, fever).replies[0].text
