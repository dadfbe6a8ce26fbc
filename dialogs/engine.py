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
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from dialogs.clinic import Clinic, shipped_clinic
from dialogs.events import (
    CHECK_KINDS,
    CHECK_WHEN,
    AnswerGiven,
    Back,
    Cancel,
    CheckedAgain,
    CheckKind,
    CheckWhen,
    Consent,
    Crisis,
    DoctorChecked,
    DoctorToday,
    Emergency,
    Event,
    EventRows,
    FaqAsked,
    NewScreening,
    OpenReminders,
    Resume,
    Start,
    StartOver,
    TalkToStaff,
    Unexpected,
)
from dialogs.faq import Faq
from dialogs.inbox import after_hours
from dialogs.questionnaire import Answers, Questionnaire, short_label_columns
from dialogs.render import labels, render, render_text
from dialogs.replies import Button, Keyboard, Reply
from dialogs.safety import (
    CRISIS_QUIET,
    Checked,
    Safety,
    checked_on,
    held_since,
    hold_reply,
)
from dialogs.scoring import Result, score
from dialogs.statuses import ScreeningStatus, Stage


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
    crisis_at: datetime | None = None  # the client's latest message in crisis words
    checked: tuple[Checked, ...] = ()  # symptoms a doctor has checked, as the client told it

    def checked_for(self, symptom: str | None) -> Checked | None:
        return next((c for c in self.checked if c.symptom == symptom), None)


@dataclass(frozen=True)
class Context:
    """What a step may need besides the state. `new_key` names a screening this step starts;
    `now` is the bot's clock."""

    questionnaire: Questionnaire
    booking_urls: dict[str, str]
    new_key: str
    retention_days: int = 730
    website: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))  # the clinic's
    clinic: Clinic = field(default_factory=shipped_clinic)  # its crisis lines, for one
    faq: Faq = field(default_factory=lambda: Faq(version=1))  # everyday questions answered

    @property
    def today(self) -> date:
        """The clinic's day."""
        return self.now.astimezone(self.zone).date()


def selling(state: State, ctx: Context) -> bool:
    """Whether booking buttons and service links may be shown: not within CRISIS_QUIET of
    crisis words (a red-flag hold is its own gate, `Safety.holds`)."""
    return state.crisis_at is None or ctx.now - state.crisis_at >= CRISIS_QUIET


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
    events: EventRows = ()
    stale: bool = False
    notice: str | None = None  # a short toast for the button press
    lifted: Safety | None = None  # the hold this step lifted (the team may need to know)


def step(state: State, event: Event, ctx: Context) -> Step:
    """Apply one event to the state."""
    current = state.safety.as_of(ctx.now)
    if current != state.safety:
        state = replace(state, safety=current)
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
        case DoctorChecked(by, when):
            return _on_doctor_checked(state, ctx, by, when)
        case CheckedAgain(key, question_id, option_id, worse):
            return _on_checked_again(state, key, question_id, option_id, worse, ctx)
        case Emergency(symptom, label, talking):
            return _on_emergency(state, symptom, label, ctx, talking=talking)
        case DoctorToday(symptom, label, talking):
            return _on_doctor_today(state, symptom, label, ctx, talking=talking)
        case Crisis(negated, talking, team_told):
            return _on_crisis(state, ctx, negated=negated, talking=talking, team_told=team_told)
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
            cancelled = Outcome(key, ScreeningStatus.CANCELLED)
            begun = _begin(state, ctx, replace_pressed=True)
            return replace(
                begun, outcome=cancelled, events=(("screening_cancelled", {}), *begun.events)
            )
        case Cancel():
            return _on_cancel(state)
        case FaqAsked(entry):
            return _on_faq(state, ctx, entry)
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
            buttons = (
                (Button(labels.resume, Resume(key)),),
                (Button(labels.start_over, StartOver(key)),),
            )
            return Step(state, (Reply(text, buttons),))
        case _:
            if state.safety.holds:
                return Step(state, (hold_reply(state.safety),))
            if state.health_consent:
                text = render("welcome_back", name=name)
                return Step(state, (Reply(text, ((Button(labels.new_check, NewScreening()),),)),))
            return Step(state, (_no_consent_reply(state, ctx),))


def _on_consent(state: State, topic: str, agree: bool, ctx: Context) -> Step:
    choice = labels.agree if agree else labels.decline
    if topic == "health" and state.stage is Stage.CONSENT_HEALTH:
        text = render("consent_health", choice=choice, retention_days=ctx.retention_days)
        recorded = Reply(text, replace=True)
        new_state = replace(state, stage=Stage.CONSENT_TIPS, health_consent=agree)
        events: EventRows = (("consent_health", {"agree": agree}),)
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
        return Step(idle, (recorded, _no_consent_reply(state, ctx)), events=events)
    if topic == "health" and agree and state.stage is Stage.IDLE and not state.health_consent:
        # The way back for someone who first said no.
        agreed = replace(state, health_consent=True)
        if agreed.safety.holds:  # a hold kept through a withdrawal: the advice first
            consented: EventRows = (("consent_health", {"agree": True}),)
            return Step(agreed, (hold_reply(agreed.safety),), events=consented)
        begun = _begin(agreed, ctx, replace_pressed=False)
        events = (("consent_health", {"agree": True}), *begun.events)
        return replace(begun, events=events)
    return _stale(state)


def _health_consent_reply(ctx: Context, *, reminder: bool = False, media: bool = False) -> Reply:
    buttons = (
        (Button(labels.agree, Consent("health", True)),),
        (Button(labels.decline, Consent("health", False)),),
    )
    text = render(
        "consent_health", retention_days=ctx.retention_days, reminder=reminder, media=media
    )
    return Reply(text, buttons)


def _tips_consent_reply(*, reminder: bool = False, media: bool = False) -> Reply:
    buttons = (
        (Button(labels.tips_yes, Consent("tips", True)),),
        (Button(labels.tips_no, Consent("tips", False)),),
    )
    return Reply(render("consent_tips", reminder=reminder, media=media), buttons)


def _no_consent_reply(state: State, ctx: Context) -> Reply:
    """General advice without any health question: the symptoms that need urgent care come
    before any link, and no particular service is suggested (nothing is known to choose by)."""
    q = ctx.questionnaire
    text = render(
        "no_consent", emergency=q.flagged_symptoms("A"), doctor_today=q.flagged_symptoms("B")
    )
    buttons: Keyboard = ((Button(labels.clinic_services, url=ctx.website),),)
    if not selling(state, ctx):
        buttons = ()
    buttons += ((Button(labels.changed_mind, Consent("health", True)),),)
    return Reply(text, buttons)


# --- the screening -------------------------------------------------------------------------


def _begin(state: State, ctx: Context, *, replace_pressed: bool) -> Step:
    screening = ScreeningState(ctx.new_key)
    new_state = replace(state, stage=Stage.SCREENING, screening=screening)
    question = _question_reply(new_state, ctx, replace=replace_pressed)
    events: EventRows = (("screening_started", {}),)
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
        checked = state.checked_for(option.symptom)
        if checked is not None:  # a doctor has checked it: new or worse since?
            return Step(state, (_checked_again_reply(state, key, question_id, option_id, checked),))
        return _red_flag_exit(state, key, option.red_flag, option.symptom, answers, ctx)
    return _answered(state, key, answers, ctx)


def _on_checked_again(
    state: State, key: str, question_id: str, option_id: str, worse: bool, ctx: Context
) -> Step:
    """New or worse since a doctor checked it: the red flag holds as any answer's; the same:
    the answer stands and the self-check goes on."""
    if not _is_current(state, key):
        return _stale(state)
    assert state.screening is not None
    question = ctx.questionnaire.current(state.screening.answers)
    option = question.option(option_id) if question and question.id == question_id else None
    if option is None or not option.red_flag or state.checked_for(option.symptom) is None:
        return _stale(state)
    assert option.symptom is not None
    answers = (*state.screening.answers, (question_id, option_id))
    if worse:
        return _red_flag_exit(state, key, option.red_flag, option.symptom, answers, ctx)
    return _answered(state, key, answers, ctx)


def _checked_again_reply(
    state: State, key: str, question_id: str, option_id: str, checked: Checked
) -> Reply:
    """Asked instead of holding the client again for the same honest answer."""
    assert state.screening is not None
    yes = CheckedAgain(key, question_id, option_id, worse=True)
    no = CheckedAgain(key, question_id, option_id, worse=False)
    rows = (
        (Button(labels.checked_worse, yes),),
        (Button(labels.checked_same, no),),
        (Button(labels.back, Back(key, question_id)),),
    )
    text = render("checked_again", checked=checked, number=len(state.screening.answers) + 1)
    return Reply(text, rows, replace=True, live=True)


def _answered(state: State, key: str, answers: Answers, ctx: Context) -> Step:
    """After an answer that raised no red flag: the next question, or the result."""
    assert state.screening is not None
    answered = replace(state, screening=replace(state.screening, answers=answers))
    if ctx.questionnaire.current(answers) is not None:
        return Step(answered, (_question_reply(answered, ctx, replace=True),))

    result = score(ctx.questionnaire, answers)
    reason = result.tier_c[0] if result.tier_c else None
    safety = Safety("C", reason, ctx.questionnaire.tier_c[reason]) if reason else Safety()
    idle = replace(state, stage=Stage.IDLE, screening=None, safety=safety)
    outcome = Outcome(key, ScreeningStatus.COMPLETED, result=result, answers=answers)
    events: EventRows = (
        ("screening_finished", {"band": result.band, "services": list(result.services)}),
    )
    if selling(state, ctx):
        events += (("booking_shown", {"services": list(result.services)}),)
    reply = _result_reply(state, key, result, answers, ctx)
    return Step(idle, (reply,), outcome=outcome, events=events)


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
    safety = held_since(tier, symptom, label, ctx.now.astimezone(ctx.zone), ctx.now)
    idle = replace(state, stage=Stage.IDLE, screening=None, safety=safety)
    text = render(
        f"red_flag_{tier.lower()}", label=label, held=True, talking=talking, safety=safety
    )
    outcome = Outcome(key, ScreeningStatus.RED_FLAG, tier=tier, symptom=symptom, answers=answers)
    # figures need the tier, not the symptom
    events: EventRows = (("red_flag_exit", {"tier": tier}),)
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
        label = ctx.questionnaire.symptoms[symptom]
        safety = held_since("A", symptom, label, ctx.now.astimezone(ctx.zone), ctx.now)
        held = replace(state, safety=safety)
        text = render("red_flag_a", label=label, held=True, talking=talking, safety=safety)
        events: EventRows = (("emergency_text", {"tier": "A"}),)
        return Step(held, (Reply(text, buttons),), events=events)
    text = render("red_flag_a", label=label, held=False, talking=talking)
    return Step(state, (Reply(text, buttons),))


def _on_doctor_today(
    state: State, symptom: str, label: str, ctx: Context, *, talking: bool = False
) -> Step:
    """A typed message describes a tier B sign: a doctor today, and the self-check offered
    (its safety questions ask about it). Nothing is held: the words alone are less sure than
    an answer. A held client gets their hold's advice; a new one the welcome after it."""
    if state.safety.holds:
        return Step(state, (hold_reply(state.safety),))
    screening = state.screening if state.stage is Stage.SCREENING else None
    passed = screening is not None and _asked_about(ctx.questionnaire, screening, symptom)
    text = render(
        "doctor_today_typed",
        label=label,
        talking=talking,
        screening=screening is not None,
        gate_passed=passed,
        consent=bool(state.health_consent),
        stage=state.stage.value,
    )
    rows: Keyboard = ()
    if screening is not None and passed:
        rows = ((Button(labels.start_over, StartOver(screening.key)),),)
    elif state.stage is Stage.IDLE:
        rows = ((_self_check_button(state),),)
    if not talking and state.stage in (Stage.IDLE, Stage.SCREENING):
        rows += _human_button()
    advice = Reply(text, rows)
    if state.stage is Stage.NEW:  # the first thing they ever wrote: the welcome follows
        welcome = _on_start(state, ctx)
        return replace(welcome, replies=(advice, *welcome.replies))
    return Step(state, (advice,))


def _asked_about(questionnaire: Questionnaire, screening: ScreeningState, symptom: str) -> bool:
    """Whether a question already answered in this screening offered this symptom."""
    return any(
        any(option.symptom == symptom for option in questionnaire.by_id[qid].options)
        for qid, _ in screening.answers
        if qid in questionnaire.by_id
    )


def _on_crisis(
    state: State, ctx: Context, *, negated: bool, talking: bool, team_told: bool
) -> Step:
    """Crisis words: a warm, short answer with the crisis lines, a person to reach, and no
    sales for the rest of the day (`selling`). The screening, if any, stays where it was."""
    text = render("crisis", negated=negated, talking=talking, team_told=team_told)
    rows: Keyboard = tuple(
        (Button(line.button, url=line.url),)
        for line in ctx.clinic.emergency.crisis_lines
        if line.button and line.url
    )
    if not (talking or team_told):
        rows += ((Button(labels.talk_to_someone, TalkToStaff()),),)
    return Step(replace(state, crisis_at=ctx.now), (Reply(text, rows),))


def _self_check_button(state: State) -> Button:
    """A new self-check, or consent first for a client who said no to health answers."""
    if state.health_consent:
        return Button(labels.new_check, NewScreening())
    return Button(labels.changed_mind, Consent("health", True))


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
    outcome = Outcome(state.screening.key, ScreeningStatus.CANCELLED)
    reply = Reply(render("cancelled"), ((Button(labels.new_check, NewScreening()),),))
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
            buttons: Keyboard = ((Button(labels.faq_team, TalkToStaff()),),)
            if state.health_consent:
                buttons = ((Button(labels.new_check, NewScreening()),), *buttons)
            return Step(state, (Reply(render("idle_hint"), buttons),))


HOLIDAYS_AHEAD = timedelta(days=60)  # the closed days an opening-hours answer names


def _on_faq(state: State, ctx: Context, entry_id: str) -> Step:
    """An everyday question: the clinic's answer, with its buttons (a booking button only
    where booking may be shown: not in a red-flag hold, not on a day of crisis words)."""
    entry = ctx.faq.get(entry_id)
    if entry is None:
        return _stale(state)  # a /help button from before the clinic changed its FAQ
    if entry.kind == "hours":
        hours = ctx.clinic.opening_hours
        today = ctx.today
        text = render(
            "faq_hours",
            week=hours.week,
            closed=after_hours(hours, ctx.now),
            holidays=sorted(d for d in hours.holidays if today <= d <= today + HOLIDAYS_AHEAD),
            zone=ctx.zone.key,
        )
    else:
        assert entry.answer is not None
        text = render_text(entry.answer, first_name=state.first_name)
    rows: Keyboard = ()
    for kind in entry.buttons:
        if kind == "map" and ctx.clinic.map_url:
            rows += ((Button(labels.faq_map, url=ctx.clinic.map_url),),)
        elif kind == "website":
            rows += ((Button(labels.website, url=ctx.website),),)
        elif kind == "book" and not state.safety.holds and selling(state, ctx):
            rows += _booking_buttons(ctx, tuple(ctx.booking_urls), ref=None)
        elif kind == "team":
            rows += ((Button(labels.faq_team, TalkToStaff()),),)
    return Step(state, (Reply(text, rows),))


def _on_doctor_checked(
    state: State, ctx: Context, by: CheckKind | None, when: CheckWhen | None
) -> Step:
    """The client says a doctor has seen them: who checked them, then when; with both, the
    hold lifts (the date is recorded, and the symptom remembered as checked, so a later
    self-check asks whether it is new or worse instead of holding them again) and a new
    self-check is offered for an up-to-date result. Not in a tier A hold's first hours."""
    safety = state.safety
    if not safety.holds:
        return _stale(state)
    if not safety.liftable:
        assert safety.lift_at is not None
        return _stale(state, labels.lift_not_yet.format(time=safety.lift_at.strftime("%H:%M")))
    if by is None:
        rows = tuple(
            (Button(getattr(labels, f"check_{k}"), DoctorChecked(k)),) for k in CHECK_KINDS
        )
        return Step(state, (Reply(render("doctor_check_who"), rows),))
    if when is None:
        rows = tuple(
            (Button(getattr(labels, f"check_when_{w}"), DoctorChecked(by, w)),) for w in CHECK_WHEN
        )
        return Step(state, (Reply(render("doctor_check_when"), rows, replace=True),))
    flagged = safety.since.date() if safety.since else None
    checked = state.checked
    if safety.symptom is not None:  # erased with a withdrawn consent: nothing to remember
        on = checked_on(when, ctx.today, flagged)
        mark = Checked(safety.symptom, on, by, when, safety.label)
        checked = (*(c for c in checked if c.symptom != mark.symptom), mark)
    lifted = replace(state, safety=Safety(), checked=checked)
    text = render("doctor_checked", by=by, when=when)
    reply = Reply(text, ((_self_check_button(state),),), replace=True)
    events: EventRows = (("safety_lifted", {"tier": safety.tier, "by": by}),)
    return Step(lifted, (reply,), events=events, lifted=safety)


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
    options = [Button(o.label, AnswerGiven(key, question.id, o.id)) for o in question.options]
    width = short_label_columns(question)
    rows = tuple(tuple(options[i : i + width]) for i in range(0, len(options), width))
    if answers:
        rows += ((Button(labels.back, Back(key, question.id)),),)
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


def _result_reply(state: State, key: str, result: Result, answers: Answers, ctx: Context) -> Reply:
    q = ctx.questionnaire
    checked = [
        c
        for qid, oid in answers
        if qid in q.by_id and (o := q.by_id[qid].option(oid)) and o.red_flag
        if (c := state.checked_for(o.symptom)) is not None
    ]
    text = result_text(state.first_name, result, ctx.questionnaire, checked=checked)
    booking = _booking_buttons(ctx, result.services, ref=key) if selling(state, ctx) else ()
    buttons = booking + _human_button()
    buttons += ((Button(labels.remind_me, OpenReminders()),),)
    return Reply(text, buttons, replace=True, booking=bool(booking))


def result_text(
    first_name: str,
    result: Result,
    questionnaire: Questionnaire,
    *,
    checked: list[Checked] | None = None,
    held: bool = False,
) -> str:
    """A result as the client reads it. `held`: as it stands once a red-flag hold started
    after it (no suggestions, no "booking is fine"); `checked`: symptoms the client answered
    in it that a doctor had checked before."""
    q = questionnaire
    return render(
        "result",
        name=first_name,
        result=result,
        signs=[q.signs[s] for s in result.signs],
        band_text=next(b.text for b in q.bands if b.id == result.band),
        sign_total=len(q.signs),
        services=[] if held else [q.services[s] for s in result.services],
        tier_c=[q.tier_c[r] for r in result.tier_c],
        contra=[] if held else [q.contraindications[c].line for c in result.contra],
        checked=checked or [],
        held=held,
    )


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
    return ((Button(labels.talk_to_therapist, TalkToStaff()),),)


def _stale(state: State, notice: str | None = None) -> Step:
    return Step(state, stale=True, notice=notice or labels.stale)
