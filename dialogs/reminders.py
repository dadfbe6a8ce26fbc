"""Movement-break reminders, without Telegram or a database.

- `step(plan, event, ctx)`: the settings dialog (days, hours by button or typed, interval,
  time zone by button or typed and confirmed), the plan
  panel (change, pause, resume, turn off), the buttons under each prompt (done, snooze, skip,
  pause for today, settings) and the answer to the check-in for ignored prompts.
- `due(plan, ctx)`: what happens when a prompt falls due: a prompt, a check-in, or nothing
  (a prompt missed while the bot was down is not sent late).
- `summary(plan, ctx)`: the end-of-week summary.
The schedule itself is `dialogs.schedule`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from dialogs.callbacks import Part, Press, press
from dialogs.events import EventRows, OpenReminders
from dialogs.hours import parse_hours
from dialogs.render import TEMPLATES, environment, labels, render
from dialogs.replies import Button, Keyboard, Reply
from dialogs.safety import Safety, hold_reply
from dialogs.schedule import (
    MONDAY_TO_FRIDAY,
    Window,
    end_of_today,
    inside,
    local,
    next_slot,
    shift_day,
    stable_offset,
    streak,
    week_of,
    week_summary_time,
)
from dialogs.statuses import PlanStatus
from dialogs.zones import resolve, zone_label

COMMON_ZONES = (
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Australia/Sydney",
)
START_CHOICES = tuple(hour * 60 for hour in (7, 8, 9, 10))
END_CHOICES = tuple(hour * 60 for hour in (15, 16, 17, 18, 19))
INTERVAL_CHOICES = tuple(minutes * 60 for minutes in (30, 45, 60, 90, 120))
SNOOZE = timedelta(minutes=15)
CHECK_IN_AFTER = 3  # working days in a row of prompts without a single tap
MISSED_GRACE = timedelta(minutes=5)  # later than this, a due prompt is skipped, not sent late
# A week's summary later than this is old news (the bot was down for days, or the client was
# held after a red flag until a doctor checked them): skipped, and the next one planned.
SUMMARY_GRACE = timedelta(days=1)
LONGEST_INTERVAL = 4 * 3600


@cache
def prompt_names() -> tuple[str, ...]:
    """The movement prompts, one template each in templates/prompts/, in rotation order."""
    return tuple(sorted(p.stem for p in (TEMPLATES / "prompts").glob("*.j2")))


@cache
def ruled_out_by(name: str) -> frozenset[str]:
    """The contraindications (questionnaire.yaml) that leave a prompt out of a client's
    rotation: its template's `avoid_with` (a bridge lies on the back: not in pregnancy)."""
    module = environment().get_template(f"prompts/{name}.j2").make_module({"name": ""})
    return frozenset(getattr(module, "avoid_with", ()))


# What a client may type at a movement prompt instead of tapping (care-safety.md: a client in
# pain types fast): the word, and the button it stands for. "stop" turns the reminders off.
TypedAction = Literal["done", "snooze", "today", "stop"]  # what a typed word stands for
TYPED_WORDS: dict[str, TypedAction] = {
    "done": "done",
    "did it": "done",
    "snooze": "snooze",
    "pause": "today",
}
TYPED_WORDS |= {"stop": "stop", "stop it": "stop", "stop reminders": "stop", "stop them": "stop"}
TYPED_WORDS |= {"pause reminders": "today", "pause for today": "today", "snooze 15": "snooze"}
_NOT_WORDS = re.compile(r"[^\w\s]|_")


def typed_word(text: str) -> TypedAction | None:
    """The prompt button a typed message stands for ("Done!", "STOP", "snooze"), or None."""
    words = " ".join(_NOT_WORDS.sub(" ", text.casefold()).split())
    return TYPED_WORDS.get(words)


@dataclass(frozen=True)
class Plan:
    """A client's reminders. `status` is none (never set up), setup, active, paused, asking
    (the check-in awaits an answer) or off; `step` is the setup question being asked: days,
    start, end (both also take typed hours), interval, zone, or zoneok (a typed zone, held in
    `zone`, awaits confirmation). `end` before `start` is an overnight window."""

    status: str = PlanStatus.NONE
    step: str | None = None
    days: frozenset[int] = MONDAY_TO_FRIDAY
    start: int = 9 * 60  # minutes after local midnight
    end: int = 17 * 60
    interval: int = 3600  # seconds
    zone: str = "Europe/London"
    offset: int = 0  # seconds into each interval, stable per client
    next_due: datetime | None = None
    summary_due: datetime | None = None
    paused_until: datetime | None = None
    seq: int = 0  # the number of the latest prompt; its buttons carry it
    last_prompt: str | None = None
    last_prompt_on: date | None = None
    last_interaction_on: date | None = None
    unanswered_days: int = 0
    answered_seq: int = 0  # the latest prompt acted on (done, snoozed...): its buttons are spent

    @property
    def prompt_open(self) -> bool:
        """Whether the latest prompt still waits for an answer (typed or tapped)."""
        return self.seq > self.answered_seq and self.status in (
            PlanStatus.ACTIVE,
            PlanStatus.PAUSED,
        )

    @property
    def window(self) -> Window:
        return Window(
            days=self.days,
            start=_clock(self.start),
            end=_clock(self.end),
            interval=timedelta(seconds=self.interval),
            zone=ZoneInfo(self.zone),
            offset=timedelta(seconds=self.offset),
        )


@dataclass(frozen=True)
class Context:
    now: datetime
    key: int  # the client's id: their stable offset
    default_interval: int  # seconds (REMINDER_INTERVAL)
    clinic_zone: str
    name: str = ""
    breaks: Mapping[date, int] = field(default_factory=dict)  # breaks done per local day
    safety: Safety = field(default_factory=Safety)  # the client's red-flag status
    contra: frozenset[str] = frozenset()  # the contraindications of their latest self-check


@dataclass(frozen=True)
class Step:
    plan: Plan
    replies: tuple[Reply, ...] = ()
    stale: bool = False
    notice: str | None = None
    break_done: date | None = None  # count one break on this local day
    events: EventRows = ()


# --- events and their callback data ----------------------------------------------------------


Open = OpenReminders  # /reminders, or "Remind me to move" under a result
PlanAction = Literal["change", "on", "pause", "resume", "off"]  # the plan panel's buttons
PromptChoice = Literal["done", "snooze", "skip", "today", "settings"]  # a prompt's buttons
ZoneName = Annotated[str, Part(r"[A-Za-z0-9_/+-]{1,48}")]  # an IANA name: Etc/GMT+3


@press("rs:c")
@dataclass(frozen=True)
class Choose(Press):
    """A setup button: `what` is day (toggle), days (done), start, end, interval or zone."""

    what: Literal["day", "days", "start", "end", "interval", "zone"]
    value: int = 0


@press("rs:zt")
@dataclass(frozen=True)
class TypeZone(Press):
    """ "I'll type it" at the time-zone question."""


@dataclass(frozen=True)
class ZoneTyped:
    text: str


@press("rs:zy")
@dataclass(frozen=True)
class ZoneConfirm(Press):
    """ "Yes" under "Berlin → Europe/Berlin ... Right?": `zone` is the one it confirms."""

    zone: ZoneName


@press("rs:zn")
@dataclass(frozen=True)
class ZoneRetype(Press):
    """ "No, type again" under the typed zone's confirmation."""


@dataclass(frozen=True)
class TypedAtButtons:
    """Text typed while the setup waits for a tap (the days, how often): asked again."""


@dataclass(frozen=True)
class HoursTyped:
    """Working hours typed at the start or end question ("06:30-22:00")."""

    text: str


@press("rs:m")
@dataclass(frozen=True)
class Manage(Press):
    """A plan panel button: change, on, pause, resume or off."""

    action: PlanAction


@press("mv")
@dataclass(frozen=True)
class PromptAction(Press):
    """A button under prompt number `seq`: done, snooze, skip, today or settings."""

    seq: int
    action: PromptChoice


@press("rs:k")
@dataclass(frozen=True)
class CheckIn(Press):
    """The answer to "keep the reminders?": keep, fewer or stop."""

    choice: Literal["keep", "fewer", "stop"]


@dataclass(frozen=True)
class StopSetup:
    """/cancel (or another command) while the setup asks something: it stops there; what was
    set stays, and prompts wait until /reminders finishes the setup."""


@dataclass(frozen=True)
class TypedWord:
    """A word typed instead of a tap (`typed_word`): done, snooze or today act on the latest
    prompt while it is open (today, with none open: pause); stop turns the reminders off."""

    word: TypedAction


Event = (
    Open
    | Choose
    | TypeZone
    | ZoneTyped
    | ZoneConfirm
    | ZoneRetype
    | HoursTyped
    | TypedAtButtons
    | Manage
    | PromptAction
    | CheckIn
    | StopSetup
    | TypedWord
)
_CHECK_IN: tuple[Literal["keep", "fewer", "stop"], ...] = ("keep", "fewer", "stop")


# --- the dialog -------------------------------------------------------------------------------


# Allowed while held: turning reminders down, and leaving the setup.
_STOPPING = (Manage("off"), Manage("pause"), CheckIn("stop"), StopSetup())


def step(plan: Plan, event: Event, ctx: Context) -> Step:
    if isinstance(event, TypedWord):
        typed = _typed(plan, event.word)
        if typed is None:
            return _stale(plan)  # nothing it could act on: the caller reads it otherwise
        event = typed
    if ctx.safety.holds and event not in _STOPPING:
        # After a tier A or B red flag, movement is not the advice: the urgent advice is.
        # Turning reminders down is always allowed.
        return Step(plan, (hold_reply(ctx.safety),))
    match event:
        case Open():
            if plan.status in (
                PlanStatus.NONE,
                PlanStatus.OFF,
                PlanStatus.SETUP,
            ):  # mid-setup: from the top, as chosen
                return _begin_setup(plan, ctx, replace_pressed=False)
            return Step(plan, (_panel(plan, ctx, replace=False),))
        case Choose(what, value):
            return _on_choose(plan, what, value, ctx)
        case TypeZone() | ZoneRetype():
            if not wants_zone(plan):
                return _stale(plan)
            asking = replace(plan, step="zone")
            return Step(asking, (Reply(render("reminders/zone_type"), replace=True),))
        case ZoneTyped(text):
            return _on_zone_typed(plan, text, ctx)
        case ZoneConfirm(zone):
            if plan.status != PlanStatus.SETUP or plan.step != "zoneok" or zone != plan.zone:
                return _stale(plan)  # an older confirmation, or made-up data
            return _finish(plan, zone, ctx, replace_pressed=True)
        case HoursTyped(text):
            return _on_hours_typed(plan, text, ctx)
        case TypedAtButtons():
            if not wants_tap(plan):
                return _stale(plan)
            question = _setup_reply(plan, ctx, replace=False)
            text = render("reminders/tap_please", question=question.text)
            return Step(plan, (Reply(text, question.buttons),))
        case Manage(action):
            return _on_manage(plan, action, ctx)
        case PromptAction(seq, action):
            return _on_prompt_action(plan, seq, action, ctx)
        case CheckIn(choice):
            return _on_check_in(plan, choice, ctx)
        case StopSetup():
            if plan.status != PlanStatus.SETUP or plan.step is None:
                return _stale(plan)
            stopped = replace(plan, step=None)
            return Step(stopped, (Reply(render("reminders/setup_stopped")),))
    raise TypeError(f"unknown event {event!r}")


def _typed(plan: Plan, word: TypedAction) -> Event | None:
    """The button a typed word stands for now, if any."""
    if word == "stop":
        return (
            Manage("off")
            if plan.status in (PlanStatus.ACTIVE, PlanStatus.PAUSED, PlanStatus.ASKING)
            else None
        )
    if plan.prompt_open:
        return PromptAction(plan.seq, word)
    if word == "today" and plan.status == PlanStatus.ACTIVE:
        return Manage("pause")
    return None


def stop_which() -> Reply:
    """ "stop" typed while talking to the clinic team: it goes on to them, and the reminders
    can be turned off here too."""
    off = Button(labels.plan_off, Manage("off"))
    return Reply(render("reminders/stop_which"), ((off,),))


def wants_zone(plan: Plan) -> bool:
    """Whether typed text now is the answer to the time-zone question (while a typed zone
    awaits confirmation, typing another one replaces it)."""
    return plan.status == PlanStatus.SETUP and plan.step in ("zone", "zoneok")


def wants_hours(plan: Plan) -> bool:
    """Whether typed text now is the working hours (the start or end question is open)."""
    return plan.status == PlanStatus.SETUP and plan.step in ("start", "end")


def wants_tap(plan: Plan) -> bool:
    """Whether the setup waits for a button that typing cannot stand in for (the days, how
    often): typed text gets the question again."""
    return plan.status == PlanStatus.SETUP and plan.step in ("days", "interval")


def _begin_setup(plan: Plan, ctx: Context, *, replace_pressed: bool) -> Step:
    """Ask the settings, pre-filled with the last ones (or the defaults the first time)."""
    fresh = plan.status == PlanStatus.NONE
    draft = replace(
        plan,
        status=PlanStatus.SETUP,
        step="days",
        interval=ctx.default_interval if fresh else plan.interval,
        zone=ctx.clinic_zone if fresh else plan.zone,
    )
    return Step(draft, (_setup_reply(draft, ctx, replace=replace_pressed),))


def _on_choose(plan: Plan, what: str, value: int, ctx: Context) -> Step:
    if plan.status != PlanStatus.SETUP:
        return _stale(plan)
    match plan.step, what:
        case "days", "day" if 0 <= value <= 6:
            days = plan.days ^ {value}
            toggled = replace(plan, days=frozenset(days))
            return Step(toggled, (_setup_reply(toggled, ctx, replace=True),))
        case "days", "days":
            if not plan.days:
                return Step(plan, notice=labels.pick_a_day)
            return _ask(replace(plan, step="start"), ctx)
        case "start", "start" if value in START_CHOICES:
            return _ask(replace(plan, start=value, step="end"), ctx)
        case "end", "end" if value in END_CHOICES and value > plan.start:
            return _ask(replace(plan, end=value, step="interval"), ctx)
        case "interval", "interval" if value in interval_choices(ctx, plan):
            return _ask(replace(plan, interval=value, step="zone"), ctx)
        case (("zone" | "zoneok"), "zone") if 0 <= value < len(zone_choices(ctx)):
            return _finish(plan, zone_choices(ctx)[value], ctx, replace_pressed=True)
    return _stale(plan)


def _on_hours_typed(plan: Plan, text: str, ctx: Context) -> Step:
    """Typed working hours: both ends at once, an overnight window allowed."""
    if not wants_hours(plan):
        return _stale(plan)
    hours = parse_hours(text)
    buttons = _setup_reply(plan, ctx, replace=False).buttons
    if hours is None:
        return Step(plan, (Reply(render("reminders/hours_unknown", text=text[:64]), buttons),))
    start, end = hours
    typed = replace(plan, start=start, end=end, step="interval")
    shortest = min(interval_choices(ctx))
    if window_seconds(typed) < shortest:
        text = render(
            "reminders/hours_too_short",
            start=_clock(start).strftime("%H:%M"),
            end=_clock(end).strftime("%H:%M"),
            shortest=shortest,
        )
        return Step(plan, (Reply(text, buttons),))
    return Step(typed, (_setup_reply(typed, ctx, replace=False),))


def _on_zone_typed(plan: Plan, text: str, ctx: Context) -> Step:
    """A typed zone is resolved (`dialogs.zones`) and shown back for a yes or a retype."""
    found = resolve(text)
    if found is None:
        reply = Reply(render("reminders/zone_unknown", text=text[:64]), _zone_buttons(ctx))
        return Step(plan, (reply,))
    asking = replace(plan, step="zoneok", zone=found.zone)
    return Step(asking, (_zone_confirmation(asking, ctx, typed=text[:64], replace=False),))


def _zone_confirmation(plan: Plan, ctx: Context, *, typed: str | None, replace: bool) -> Reply:
    text = render(
        "reminders/zone_confirm",
        typed=typed,
        zone=zone_label(plan.zone),
        now=local(ctx.now, plan.window).strftime("%H:%M"),
    )
    buttons: Keyboard = (
        (
            Button(labels.zone_yes, ZoneConfirm(plan.zone)),
            Button(labels.zone_retype, ZoneRetype()),
        ),
    )
    return Reply(text, buttons, replace=replace)


def _finish(plan: Plan, zone: str, ctx: Context, *, replace_pressed: bool) -> Step:
    offset = int(stable_offset(ctx.key, timedelta(seconds=plan.interval)).total_seconds())
    active = replace(
        plan,
        status=PlanStatus.ACTIVE,
        step=None,
        zone=zone,
        offset=offset,
        paused_until=None,
        summary_due=None,
        unanswered_days=0,
    )
    active = _reschedule(active, ctx.now)
    panel = _panel(active, ctx, replace=replace_pressed, just_set=True)
    return Step(active, (panel,), events=(("reminders_on", {"interval": plan.interval}),))


def _on_manage(plan: Plan, action: str, ctx: Context) -> Step:
    match action, plan.status:
        case (
            ("change" | "on"),
            (PlanStatus.ACTIVE | PlanStatus.PAUSED | PlanStatus.ASKING | PlanStatus.OFF),
        ):
            return _begin_setup(plan, ctx, replace_pressed=True)
        case "pause", PlanStatus.ACTIVE:
            paused = replace(plan, status=PlanStatus.PAUSED)
            return Step(
                paused, (_panel(paused, ctx, replace=True),), events=(("reminders_paused", {}),)
            )
        case "resume", (PlanStatus.PAUSED | PlanStatus.ASKING):
            resumed = _reschedule(
                replace(
                    plan,
                    status=PlanStatus.ACTIVE,
                    unanswered_days=0,
                    paused_until=None,
                    summary_due=None,
                ),
                ctx.now,
            )
            return Step(resumed, (_panel(resumed, ctx, replace=True),))
        case PlanStatus.OFF, (
            PlanStatus.ACTIVE | PlanStatus.PAUSED | PlanStatus.ASKING | PlanStatus.SETUP
        ):
            off = replace(plan, status=PlanStatus.OFF, step=None)
            return Step(off, (_panel(off, ctx, replace=True),), events=(("reminders_off", {}),))
    return _stale(plan)


def _on_prompt_action(plan: Plan, seq: int, action: str, ctx: Context) -> Step:
    if seq != plan.seq or not plan.prompt_open:
        return Step(plan, stale=True, notice=labels.prompt_passed)
    today = shift_day(plan.window, ctx.now)
    spent = seq if action != "settings" else plan.answered_seq
    touched = replace(plan, last_interaction_on=today, unanswered_days=0, answered_seq=spent)
    match action:
        case "done":
            count = ctx.breaks.get(today, 0) + 1
            days = {day for day, done in ctx.breaks.items() if done} | {today}
            text = render(
                "reminders/done",
                name=ctx.name,
                today=count,
                streak=streak(plan.window, today, days),
            )
            events: EventRows = (("break_done", {}),)
            return Step(touched, (Reply(text, replace=True),), break_done=today, events=events)
        case "snooze":
            later = ctx.now + SNOOZE
            if touched.status != PlanStatus.ACTIVE or not inside(plan.window, later):
                return Step(touched, notice=labels.snooze_not_now)
            snoozed = replace(touched, next_due=later)
            text = render("reminders/snoozed", at=_when(later, ctx, plan))
            return Step(snoozed, (Reply(text, replace=True),))
        case "skip":
            text = render("reminders/skipped", next=_when(plan.next_due, ctx, plan))
            return Step(touched, (Reply(text, replace=True),))
        case "today":
            until = end_of_today(plan.window, ctx.now)
            paused = _reschedule(replace(touched, paused_until=until), ctx.now)
            text = render("reminders/paused_today", next=_when(paused.next_due, ctx, plan))
            return Step(paused, (Reply(text, replace=True),))
        case _:
            return Step(touched, (_panel(touched, ctx, replace=False),))


def _on_check_in(plan: Plan, choice: str, ctx: Context) -> Step:
    if plan.status != PlanStatus.ASKING:
        return _stale(plan)
    match choice:
        case "keep":
            kept = _reschedule(replace(plan, status=PlanStatus.ACTIVE, unanswered_days=0), ctx.now)
        case "fewer":
            # at most the window's length, or a short window would have no prompt at all
            longer = max(
                plan.interval, min(plan.interval * 2, LONGEST_INTERVAL, window_seconds(plan))
            )
            offset = int(stable_offset(ctx.key, timedelta(seconds=longer)).total_seconds())
            kept = _reschedule(
                replace(
                    plan,
                    status=PlanStatus.ACTIVE,
                    unanswered_days=0,
                    interval=longer,
                    offset=offset,
                ),
                ctx.now,
            )
        case _:
            off = replace(plan, status=PlanStatus.OFF)
            return Step(off, (_panel(off, ctx, replace=True),), events=(("reminders_off", {}),))
    return Step(kept, (_panel(kept, ctx, replace=True),))


# --- the scheduler's side ----------------------------------------------------------------------


def due(plan: Plan, ctx: Context) -> Step:
    """The prompt that fell due at `plan.next_due` (the scheduler calls this at `ctx.now`)."""
    assert plan.status == PlanStatus.ACTIVE and plan.next_due is not None
    window = plan.window
    if ctx.now - plan.next_due > MISSED_GRACE or not inside(window, plan.next_due):
        # Missed while the bot was down: skip it rather than send it late or out of hours.
        # One that fell due inside the hours still goes if its slot came just after them
        # (a busy minute must not make the day's last prompt vanish).
        return Step(_reschedule(plan, ctx.now))
    today = shift_day(window, ctx.now)
    unanswered = plan.unanswered_days
    if plan.last_prompt_on is not None and plan.last_prompt_on != today:
        answered = (
            plan.last_interaction_on is not None and plan.last_interaction_on >= plan.last_prompt_on
        )
        unanswered = 0 if answered else unanswered + 1
    if unanswered >= CHECK_IN_AFTER:
        asking = replace(
            plan, status=PlanStatus.ASKING, unanswered_days=unanswered, last_prompt_on=today
        )
        buttons = tuple((Button(getattr(labels, f"check_in_{c}"), CheckIn(c)),) for c in _CHECK_IN)
        reply = Reply(render("reminders/check_in", name=ctx.name, days=unanswered), buttons)
        return Step(asking, (reply,), events=(("reminders_check_in", {}),))

    kind = _next_prompt(plan.last_prompt, ctx)
    seq = plan.seq + 1
    prompted = replace(
        plan,
        seq=seq,
        last_prompt=kind,
        last_prompt_on=today,
        unanswered_days=unanswered,
    )
    prompted = _reschedule(prompted, ctx.now, last_sent=ctx.now, due_at=plan.next_due)
    return Step(prompted, (Reply(render(f"prompts/{kind}", name=ctx.name), _prompt_buttons(seq)),))


def _next_prompt(last: str | None, ctx: Context) -> str:
    """The next movement in rotation, leaving out what the client's contraindications rule
    out (`ruled_out_by`); the first for a new plan depends on the client, spreading them."""
    names = prompt_names()
    allowed = [n for n in names if not ruled_out_by(n) & ctx.contra] or list(names)
    if last not in names:
        return allowed[ctx.key % len(allowed)]
    start = names.index(last)
    return next(
        n for k in range(1, len(names) + 1) if (n := names[(start + k) % len(names)]) in allowed
    )


def summary(plan: Plan, ctx: Context) -> Step:
    """The end-of-week summary (nothing to say in a week without a break done, nor about a
    week long past)."""
    assert plan.summary_due is not None
    window = plan.window
    monday, sunday = week_of(window, plan.summary_due)
    moved = sum(done for day, done in ctx.breaks.items() if monday <= day <= sunday)
    following = replace(plan, summary_due=week_summary_time(window, ctx.now))
    if not moved or ctx.now - plan.summary_due > SUMMARY_GRACE:
        return Step(following)
    today = shift_day(window, ctx.now)
    days = {day for day, done in ctx.breaks.items() if done}
    text = render("reminders/week", name=ctx.name, moved=moved, streak=streak(window, today, days))
    return Step(following, (Reply(text),))


def _reschedule(
    plan: Plan, now: datetime, *, last_sent: datetime | None = None, due_at: datetime | None = None
) -> Plan:
    """The next prompt time: the next grid slot after the one just due (or after now), but a
    full interval after the last prompt sent, never inside a "pause for today", and the
    week's summary time."""
    window = plan.window
    after = due_at or now
    if plan.paused_until is not None and plan.paused_until > after:
        after = plan.paused_until
    not_before = last_sent + window.interval if last_sent else None
    slot = next_slot(window, after, not_before=not_before)
    if slot is not None and not_before is not None and slot < not_before:
        slot = not_before
    if slot is not None and not_before is not None and not inside(window, slot):
        slot = next_slot(window, slot)
    summary_due = plan.summary_due or week_summary_time(window, now)
    return replace(plan, next_due=slot, summary_due=summary_due)


# --- replies ------------------------------------------------------------------------------------


def _ask(plan: Plan, ctx: Context) -> Step:
    return Step(plan, (_setup_reply(plan, ctx, replace=True),))


def _setup_reply(plan: Plan, ctx: Context, *, replace: bool) -> Reply:
    match plan.step:
        case "days":
            day_buttons = tuple(
                Button(
                    ("✅ " if day in plan.days else "") + getattr(labels, f"day_{day}"),
                    Choose("day", day),
                )
                for day in range(7)
            )
            buttons: Keyboard = (
                day_buttons[:4],
                day_buttons[4:],
                (Button(labels.next_step, Choose("days")),),
            )
            return Reply(render("reminders/ask_days"), buttons, replace=replace)
        case "start":
            return Reply(
                render("reminders/ask_start"),
                _time_buttons("start", START_CHOICES, plan.start),
                replace=replace,
            )
        case "end":
            ends = tuple(m for m in END_CHOICES if m > plan.start)
            return Reply(
                render("reminders/ask_end"), _time_buttons("end", ends, plan.end), replace=replace
            )
        case "interval":
            choices = interval_choices(ctx, plan)
            row = tuple(
                Button(
                    ("✅ " if s == plan.interval else "")
                    + render("reminders/interval_label", seconds=s),
                    Choose("interval", s),
                )
                for s in choices
            )
            return Reply(render("reminders/ask_interval"), (row[:3], row[3:]), replace=replace)
        case "zoneok":
            return _zone_confirmation(plan, ctx, typed=None, replace=replace)
        case _:
            return Reply(
                render("reminders/ask_zone", clinic_zone=ctx.clinic_zone),
                _zone_buttons(ctx),
                replace=replace,
            )


def _time_buttons(
    what: Literal["start", "end"], minutes: tuple[int, ...], current: int
) -> Keyboard:
    row = tuple(
        Button(("✅ " if m == current else "") + _clock(m).strftime("%H:%M"), Choose(what, m))
        for m in minutes
    )
    return (row,)


def _zone_buttons(ctx: Context) -> Keyboard:
    zones = zone_choices(ctx)
    rows = [(Button(zone, Choose("zone", i)),) for i, zone in enumerate(zones)]
    rows.append((Button(labels.type_zone, TypeZone()),))
    return tuple(rows)


def _panel(plan: Plan, ctx: Context, *, replace: bool, just_set: bool = False) -> Reply:
    """The plan as it stands, with what can be done to it."""
    panels: dict[str, tuple[PlanAction, ...]] = {
        PlanStatus.ACTIVE: ("change", "pause", "off"),
        PlanStatus.PAUSED: ("resume", "change", "off"),
        PlanStatus.ASKING: ("resume", "change", "off"),
        PlanStatus.OFF: ("on",),
    }
    actions = panels.get(plan.status, ())
    buttons = tuple((Button(getattr(labels, f"plan_{a}"), Manage(a)),) for a in actions)
    text = render(
        "reminders/plan",
        plan=plan,
        just_set=just_set,
        days=sorted(plan.days),
        start=_clock(plan.start).strftime("%H:%M"),
        end=_clock(plan.end).strftime("%H:%M"),
        overnight=plan.end < plan.start,
        zone=zone_label(plan.zone),
        next=_when(plan.next_due, ctx, plan),
    )
    return Reply(text, buttons, replace=replace)


def _prompt_buttons(seq: int) -> Keyboard:
    def button(action: PromptChoice) -> Button:
        return Button(getattr(labels, f"prompt_{action}"), PromptAction(seq, action))

    return (
        (button("done"), button("snooze")),
        (button("skip"), button("today")),
        (button("settings"),),
    )


def _when(moment: datetime | None, ctx: Context, plan: Plan) -> dict[str, object] | None:
    """A time as the client reads it: their local time, and whether it is today or tomorrow."""
    if moment is None:
        return None
    there = local(moment, plan.window)
    today = local(ctx.now, plan.window).date()
    return {
        "time": there.strftime("%H:%M"),
        "day": there.strftime("%a %d %b"),
        "relative": {today: "today", today + timedelta(days=1): "tomorrow"}.get(there.date(), ""),
    }


def _stale(plan: Plan) -> Step:
    return Step(plan, stale=True, notice=labels.stale)


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def interval_choices(ctx: Context, plan: Plan | None = None) -> tuple[int, ...]:
    """The usual intervals, plus the clinic's default if it is not one of them; with a plan,
    only those that fit in its working hours (typed hours are at least the shortest)."""
    choices = sorted({*INTERVAL_CHOICES, ctx.default_interval})
    if plan is not None:
        fitting = [s for s in choices if s <= window_seconds(plan)]
        choices = fitting or choices[:1]
    return tuple(choices)


def window_seconds(plan: Plan) -> int:
    """How long the working hours are, by the clock (an overnight window runs past 24:00)."""
    return ((plan.end - plan.start) % (24 * 60)) * 60


def zone_choices(ctx: Context) -> tuple[str, ...]:
    """The clinic's zone first, then the common ones."""
    return (ctx.clinic_zone, *(z for z in COMMON_ZONES if z != ctx.clinic_zone))


def find_zone(text: str) -> str | None:
    """The zone a client meant by what they typed (`dialogs.zones.resolve`), or None."""
    found = resolve(text)
    return found.zone if found else None
