"""The dialog engine: `step(state, event, context) -> Step`. Pure: no Telegram, no database.

The client's path: welcome and health consent, tips consent, then the screening (red-flag gate
first, then the lazy-glute questions and the contraindications), ending in a result or in
urgent-care advice. A red flag sets the client's safety status (`dialogs.safety`): while it
holds, every way back into the bot gets the advice again until a doctor has checked them. A step
returns the new state, what to say, and what happened (a screening started or ended, events
for the staff figures). An event that does not fit the state is *stale*: nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dialogs.events import (
    AnswerGiven,
    Back,
    Cancel,
    Consent,
    DoctorChecked,
    Emergency,
    Event,
    NewScreening,
    Resume,
    Start,
    StartOver,
    Unexpected,
    encode,
)
from dialogs.questionnaire import Answers, Questionnaire, short_label_columns
from dialogs.render import labels, render
from dialogs.replies import Button, Keyboard, Reply
from dialogs.safety import TALK_TO_STAFF, Safety, hold_reply
from dialogs.scoring import Result, score

REMINDERS_OPEN = "rs:open"  # the reminder dialog's entry (dialogs.reminders.Open)


class Stage(StrEnum):
    NEW = "new"
    CONSENT_HEALTH = "consent_health"
    CONSENT_TIPS = "consent_tips"
    SCREENING = "screening"
    IDLE = "idle"


@dataclass(frozen=True)
class ScreeningState:
    key: str
    answers: Answers = ()


@dataclass(frozen=True)
class State:
    stage: Stage = Stage.NEW
    first_name: str = ""
    health_consent: bool | None = None
    tips_consent: bool | None = None
    screening: ScreeningState | None = None
    safety: Safety = field(default_factory=Safety)


@dataclass(frozen=True)
class Context:
    """What a step may need besides the state. `new_key` names a screening this step starts."""

    questionnaire: Questionnaire
    booking_urls: dict[str, str]
    new_key: str
    retention_days: int = 730
    website: str = ""


@dataclass(frozen=True)
class Outcome:
    """A screening that ended in this step."""

    key: str
    status: str  # completed | red_flag | cancelled
    tier: str | None = None
    symptom: str | None = None
    result: Result | None = None
    answers: Answers = ()  # the final answers, including the one that ended it


@dataclass(frozen=True)
class Step:
    state: State
    replies: tuple[Reply, ...] = ()
    started: str | None = None
    outcome: Outcome | None = None
    events: tuple[tuple[str, dict[str, object]], ...] = ()
    stale: bool = False
    notice: str | None = None  # a short toast for the button press


def step(state: State, event: Event, ctx: Context) -> Step:
    """Apply one event to the state."""
    match event:
        case Start():
            return _on_start(state, ctx)
        case Consent(topic, agree):
            return _on_consent(state, topic, agree, ctx)
        case NewScreening():
            if state.stage is Stage.IDLE and state.health_consent:
                if state.safety.holds:
                    return Step(state, (hold_reply(state.safety),))
                return _begin(state, ctx, replace_pressed=False)
            return _stale(state)
        case DoctorChecked():
            return _on_doctor_checked(state)
        case Emergency(symptom, label, talking):
            return _on_emergency(state, symptom, label, ctx, talking=talking)
        case AnswerGiven(key, question_id, option_id):
            return _on_answer(state, key, question_id, option_id, ctx)
        case Back(key, question_id):
            return _on_back(state, key, question_id, ctx)
        case Resume(key):
            if not _is_current(state, key):
                return _stale(state)
            return Step(state, (_question_reply(state, ctx, replace=True),))
        case StartOver(key):
            if not _is_current(state, key):
                return _stale(state)
            cancelled = Outcome(key, "cancelled")
            begun = _begin(state, ctx, replace_pressed=True)
            return replace(
                begun, outcome=cancelled, events=(("screening_cancelled", {}), *begun.events)
            )
        case Cancel():
            return _on_cancel(state)
        case Unexpected(media):
            return _on_unexpected(state, ctx, media=media)
    raise TypeError(f"unknown event {event!r}")


# --- consent -------------------------------------------------------------------------------


def _on_start(state: State, ctx: Context) -> Step:
    name = state.first_name
    match state.stage:
        case Stage.NEW | Stage.CONSENT_HEALTH:
            welcome = Reply(render("welcome", name=name))
            new_state = replace(state, stage=Stage.CONSENT_HEALTH)
            return Step(new_state, (welcome, _health_consent_reply(ctx)))
        case Stage.CONSENT_TIPS:
            return Step(state, (_tips_consent_reply(),))
        case Stage.SCREENING:
            assert state.screening is not None
            answered = len(state.screening.answers)
            if not answered:  # nothing to carry on with or lose: the first question again
                return Step(state, (_question_reply(state, ctx, replace=False, back=True),))
            total = len(ctx.questionnaire.path(state.screening.answers))
            key = state.screening.key
            text = render("resume_prompt", name=name, answered=answered, total=total)
            buttons = ((Button(labels.resume, encode(Resume(key))),),)
            buttons += ((Button(labels.start_over, encode(StartOver(key))),),)
            return Step(state, (Reply(text, buttons),))
        case _:
            if state.safety.holds:
                return Step(state, (hold_reply(state.safety),))
            if state.health_consent:
                text = render("welcome_back", name=name)
                return Step(state, (Reply(text, ((Button(labels.new_check, "n"),),)),))
            return Step(state, (_no_consent_reply(ctx),))


def _on_consent(state: State, topic: str, agree: bool, ctx: Context) -> Step:
    choice = labels.agree if agree else labels.decline
    if topic == "health" and state.stage is Stage.CONSENT_HEALTH:
        text = render("consent_health", choice=choice, retention_days=ctx.retention_days)
        recorded = Reply(text, replace=True)
        new_state = replace(state, stage=Stage.CONSENT_TIPS, health_consent=agree)
        events = (("consent_health", {"agree": agree}),)
        return Step(new_state, (recorded, _tips_consent_reply()), events=events)
    if topic == "tips" and state.stage is Stage.CONSENT_TIPS:
        tips_choice = labels.tips_yes if agree else labels.tips_no
        recorded = Reply(render("consent_tips", choice=tips_choice), replace=True)
        new_state = replace(state, tips_consent=agree)
        events = (("consent_tips", {"agree": agree}),)
        if new_state.safety.holds:  # an emergency typed before this choice: no self-check
            held = replace(new_state, stage=Stage.IDLE)
            return Step(held, (recorded, hold_reply(held.safety)), events=events)
        if new_state.health_consent:
            begun = _begin(new_state, ctx, replace_pressed=False)
            return replace(begun, replies=(recorded, *begun.replies), events=events + begun.events)
        idle = replace(new_state, stage=Stage.IDLE)
        return Step(idle, (recorded, _no_consent_reply(ctx)), events=events)
    if topic == "health" and agree and state.stage is Stage.IDLE and not state.health_consent:
        # The way back for someone who first said no.
        agreed = replace(state, health_consent=True)
        if agreed.safety.holds:  # a hold kept through a withdrawal: the advice first
            consented = (("consent_health", {"agree": True}),)
            return Step(agreed, (hold_reply(agreed.safety),), events=consented)
        begun = _begin(agreed, ctx, replace_pressed=False)
        events = (("consent_health", {"agree": True}), *begun.events)
        return replace(begun, events=events)
    return _stale(state)


def _health_consent_reply(ctx: Context, *, reminder: bool = False, media: bool = False) -> Reply:
    buttons = (
        (Button(labels.agree, encode(Consent("health", True))),),
        (Button(labels.decline, encode(Consent("health", False))),),
    )
    text = render(
        "consent_health", retention_days=ctx.retention_days, reminder=reminder, media=media
    )
    return Reply(text, buttons)


def _tips_consent_reply(*, reminder: bool = False, media: bool = False) -> Reply:
    buttons = (
        (Button(labels.tips_yes, encode(Consent("tips", True))),),
        (Button(labels.tips_no, encode(Consent("tips", False))),),
    )
    return Reply(render("consent_tips", reminder=reminder, media=media), buttons)


def _no_consent_reply(ctx: Context) -> Reply:
    """General advice without any health question: the symptoms that need urgent care come
    before any link, and no particular service is suggested (nothing is known to choose by)."""
    q = ctx.questionnaire
    text = render(
        "no_consent", emergency=q.flagged_symptoms("A"), doctor_today=q.flagged_symptoms("B")
    )
    buttons: Keyboard = ((Button(labels.clinic_services, url=ctx.website),),)
    buttons += ((Button(labels.changed_mind, encode(Consent("health", True))),),)
    return Reply(text, buttons)


# --- the screening -------------------------------------------------------------------------


def _begin(state: State, ctx: Context, *, replace_pressed: bool) -> Step:
    screening = ScreeningState(ctx.new_key)
    new_state = replace(state, stage=Stage.SCREENING, screening=screening)
    question = _question_reply(new_state, ctx, replace=replace_pressed)
    events = (("screening_started", {}),)
    return Step(new_state, (question,), started=ctx.new_key, events=events)


def _is_current(state: State, key: str) -> bool:
    return (
        state.stage is Stage.SCREENING
        and state.screening is not None
        and state.screening.key == key
    )


def _on_answer(state: State, key: str, question_id: str, option_id: str, ctx: Context) -> Step:
    if not _is_current(state, key):
        return _stale(state)
    assert state.screening is not None
    question = ctx.questionnaire.current(state.screening.answers)
    option = question.option(option_id) if question and question.id == question_id else None
    if question is None or option is None:
        return _stale(state)

    answers = (*state.screening.answers, (question_id, option_id))
    if option.red_flag:
        assert option.symptom is not None, "the questionnaire check requires it"
        return _red_flag_exit(state, key, option.red_flag, option.symptom, answers, ctx)
    answered = replace(state, screening=replace(state.screening, answers=answers))
    if ctx.questionnaire.current(answers) is not None:
        return Step(answered, (_question_reply(answered, ctx, replace=True),))

    result = score(ctx.questionnaire, answers)
    reason = result.tier_c[0] if result.tier_c else None
    safety = Safety("C", reason, ctx.questionnaire.tier_c[reason]) if reason else Safety()
    idle = replace(state, stage=Stage.IDLE, screening=None, safety=safety)
    outcome = Outcome(key, "completed", result=result, answers=answers)
    events = (
        ("screening_finished", {"band": result.band, "services": list(result.services)}),
        ("booking_shown", {"services": list(result.services)}),
    )
    return Step(idle, (_result_reply(state, key, result, ctx),), outcome=outcome, events=events)


def _red_flag_exit(
    state: State,
    key: str,
    tier: str,
    symptom: str,
    answers: Answers,
    ctx: Context,
    *,
    pressed: bool = True,
    talking: bool = False,
) -> Step:
    """Tier A or B: stop at once, advise care, offer a person; no sales, no booking buttons.
    The client's safety status now holds everything else back until a doctor has seen them.
    `pressed`: an answer's button (its question is replaced), not a typed message; `talking`:
    typed to the clinic team, who get it anyway (no person offered again)."""
    label = ctx.questionnaire.symptoms[symptom]
    idle = replace(state, stage=Stage.IDLE, screening=None, safety=Safety(tier, symptom, label))
    text = render(f"red_flag_{tier.lower()}", label=label, held=True, talking=talking)
    outcome = Outcome(key, "red_flag", tier=tier, symptom=symptom, answers=answers)
    events = (("red_flag_exit", {"tier": tier, "symptom": symptom}),)
    reply = Reply(text, () if talking else _human_button(), replace=pressed)
    return Step(idle, (reply,), outcome=outcome, events=events)


def _on_emergency(
    state: State, symptom: str, label: str, ctx: Context, *, talking: bool = False
) -> Step:
    """A typed message describes a tier A symptom: the emergency advice before anything else.
    With health consent it is a red flag like an answer (a screening in progress ends, the
    status holds); without it nothing is stored, and the advice is all. `talking`: see
    `Emergency`."""
    known = symptom in ctx.questionnaire.symptoms
    buttons = () if talking else _human_button()
    if state.health_consent and known and state.screening is not None:
        key, answers = state.screening.key, state.screening.answers
        return _red_flag_exit(
            state, key, "A", symptom, answers, ctx, pressed=False, talking=talking
        )
    if state.health_consent and known and state.stage in (Stage.IDLE, Stage.CONSENT_TIPS):
        held = replace(state, safety=Safety("A", symptom, ctx.questionnaire.symptoms[symptom]))
        text = render("red_flag_a", label=held.safety.label, held=True, talking=talking)
        events = (("emergency_text", {"symptom": symptom}),)
        return Step(held, (Reply(text, buttons),), events=events)
    text = render("red_flag_a", label=label, held=False, talking=talking)
    return Step(state, (Reply(text, buttons),))


def _on_back(state: State, key: str, question_id: str, ctx: Context) -> Step:
    if not _is_current(state, key):
        return _stale(state)
    assert state.screening is not None
    current = ctx.questionnaire.current(state.screening.answers)
    if current is None or current.id != question_id or not state.screening.answers:
        return _stale(state)
    previous = replace(
        state, screening=replace(state.screening, answers=state.screening.answers[:-1])
    )
    return Step(previous, (_question_reply(previous, ctx, replace=True),))


def _on_cancel(state: State) -> Step:
    if state.stage is not Stage.SCREENING or state.screening is None:
        return Step(state, (Reply(render("nothing_to_cancel")),))
    idle = replace(state, stage=Stage.IDLE, screening=None)
    outcome = Outcome(state.screening.key, "cancelled")
    reply = Reply(render("cancelled"), ((Button(labels.new_check, "n"),),))
    return Step(idle, (reply,), outcome=outcome, events=(("screening_cancelled", {}),))


def _on_unexpected(state: State, ctx: Context, *, media: bool = False) -> Step:
    match state.stage:
        case Stage.NEW:
            return _on_start(state, ctx)
        case Stage.CONSENT_HEALTH:
            return Step(state, (_health_consent_reply(ctx, reminder=True, media=media),))
        case Stage.CONSENT_TIPS:
            return Step(state, (_tips_consent_reply(reminder=True, media=media),))
        case Stage.SCREENING:
            again = _question_reply(state, ctx, replace=False, reminder=True, media=media)
            return Step(state, (again,))
        case _:
            if state.safety.holds:
                return Step(state, (hold_reply(state.safety),))
            buttons = ((Button(labels.new_check, "n"),),) if state.health_consent else ()
            return Step(state, (Reply(render("idle_hint"), buttons),))


def _on_doctor_checked(state: State) -> Step:
    """The client says a doctor has seen them: the hold lifts (the date is recorded) and a
    new self-check is offered for an up-to-date result."""
    if not state.safety.holds:
        return _stale(state)
    lifted = replace(state, safety=Safety())
    again = (
        Button(labels.new_check, "n")
        if state.health_consent
        else Button(labels.changed_mind, encode(Consent("health", True)))
    )
    reply = Reply(render("doctor_checked"), ((again,),))
    events = (("safety_lifted", {"tier": state.safety.tier}),)
    return Step(lifted, (reply,), events=events)


def _question_reply(
    state: State,
    ctx: Context,
    *,
    replace: bool,
    reminder: bool = False,
    media: bool = False,
    back: bool = False,
) -> Reply:
    assert state.screening is not None
    answers = state.screening.answers
    question = ctx.questionnaire.current(answers)
    assert question is not None, "a screening in progress always has a current question"
    key = state.screening.key
    options = [
        Button(o.label, encode(AnswerGiven(key, question.id, o.id))) for o in question.options
    ]
    width = short_label_columns(question)
    rows = tuple(tuple(options[i : i + width]) for i in range(0, len(options), width))
    if answers:
        rows += ((Button(labels.back, encode(Back(key, question.id))),),)
    text = render(
        "question",
        first=not answers and not reminder,
        back=back,
        name=state.first_name,
        reminder=reminder,
        media=media,
        gates=ctx.questionnaire.gate_count,
        number=len(answers) + 1,
        total=len(ctx.questionnaire.path(answers)),
        text=question.text,
        gate=bool(question.gate),
    )
    return Reply(text, rows, replace=replace, live=True)


# --- results -------------------------------------------------------------------------------


def _result_reply(state: State, key: str, result: Result, ctx: Context) -> Reply:
    q = ctx.questionnaire
    text = render(
        "result",
        name=state.first_name,
        result=result,
        signs=[q.signs[s] for s in result.signs],
        band_text=next(b.text for b in q.bands if b.id == result.band),
        sign_total=len(q.signs),
        services=_services(ctx, result.services),
        tier_c=[q.tier_c[r] for r in result.tier_c],
        contra=[q.contraindications[c].line for c in result.contra],
    )
    buttons = _booking_buttons(ctx, result.services, ref=key) + _human_button()
    buttons += ((Button(labels.remind_me, REMINDERS_OPEN),),)
    return Reply(text, buttons, replace=True)


def _services(ctx: Context, service_ids: tuple[str, ...]) -> list[dict[str, str]]:
    services = ctx.questionnaire.services
    return [{"id": s, "name": services[s].name, "line": services[s].line} for s in service_ids]


def _booking_buttons(ctx: Context, service_ids: tuple[str, ...], *, ref: str | None) -> Keyboard:
    rows = []
    for service_id in service_ids:
        name = ctx.questionnaire.services[service_id].name
        url = booking_url(ctx.booking_urls[service_id], service_id, ref)
        rows.append((Button(labels.book.format(service=name), url=url),))
    return tuple(rows)


def booking_url(base: str, service_id: str, ref: str | None) -> str:
    """The booking page with an opaque reference and UTM parameters; never health data."""
    parts = urlsplit(base)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if ref:
        query.append(("ref", ref))
    query += [
        ("utm_source", "telegram"),
        ("utm_medium", "bot"),
        ("utm_campaign", "screening" if ref else "info"),
        ("utm_content", service_id),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _human_button() -> Keyboard:
    return ((Button(labels.talk_to_therapist, TALK_TO_STAFF),),)


def _stale(state: State) -> Step:
    return Step(state, stale=True, notice=labels.stale)
