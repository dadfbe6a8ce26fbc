"""The reminder dialog and the due-prompt rules, by plain function calls."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs.awaiting import Awaiting, awaiting
from dialogs.callbacks import decode, encode
from dialogs.reminders import (
    CHECK_IN_AFTER,
    CheckIn,
    Choose,
    Context,
    HoursTyped,
    Manage,
    Open,
    Plan,
    PromptAction,
    Step,
    TypedWord,
    TypeZone,
    ZoneConfirm,
    ZoneTyped,
    due,
    find_zone,
    prompt_names,
    ruled_out_by,
    step,
    summary,
    typed_word,
    wants_hours,
    wants_zone,
    zone_choices,
)
from dialogs.render import labels
from dialogs.safety import Safety
from dialogs.telegram_html import check_message_html

LONDON = ZoneInfo("Europe/London")


def ctx(now: datetime, **changes: object) -> Context:
    values: dict[str, object] = {
        "now": now,
        "key": 7,
        "default_interval": 3600,
        "clinic_zone": "Europe/London",
        "name": "Alice",
    }
    values.update(changes)
    return Context(**values)  # type: ignore[arg-type]


def london(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LONDON).astimezone(UTC)  # type: ignore[misc]


WEDNESDAY_10 = london(2026, 11, 25, 10, 0)


def valid(result: Step) -> Step:
    for reply in result.replies:
        check_message_html(reply.text)
        for row in reply.buttons:
            assert len(row) <= 8
            for button in row:
                assert button.data is not None and len(button.data.encode()) <= 64
                assert decode(button.data) is not None
    return result


def run(plan: Plan, *events: object, now: datetime = WEDNESDAY_10) -> Step:
    result = Step(plan)
    for event in events:
        result = valid(step(result.plan, event, ctx(now)))  # type: ignore[arg-type]
    return result


def set_up(now: datetime = WEDNESDAY_10) -> Step:
    """Defaults all the way: Monday to Friday, 09:00 to 17:00, hourly, the clinic's zone."""
    return run(
        Plan(),
        Open(),
        Choose("days"),
        Choose("start", 9 * 60),
        Choose("end", 17 * 60),
        Choose("interval", 3600),
        Choose("zone", 0),
        now=now,
    )


def labels_of(result: Step) -> list[str]:
    return [b.text for row in result.replies[-1].buttons for b in row]


def test_setup_asks_days_hours_interval_and_zone_with_defaults() -> None:
    first = run(Plan(), Open())
    assert first.plan.status == "setup" and first.plan.step == "days"
    assert [t for t in labels_of(first) if t.startswith("✅")] == [
        "✅ Mon",
        "✅ Tue",
        "✅ Wed",
        "✅ Thu",
        "✅ Fri",
    ]
    toggled = run(first.plan, Choose("day", 5), Choose("day", 0))
    assert toggled.plan.days == frozenset({1, 2, 3, 4, 5})
    done = set_up()
    plan = done.plan
    assert (plan.status, plan.step, plan.interval, plan.zone) == (
        "active",
        None,
        3600,
        "Europe/London",
    )
    assert 0 <= plan.offset < 3600
    assert plan.next_due is not None and plan.next_due > WEDNESDAY_10
    assert plan.next_due - WEDNESDAY_10 <= timedelta(hours=1)
    text = done.replies[-1].text
    assert "Monday to Friday, 09:00 to 17:00 (Europe/London)" in text and "every hour" in text
    assert "next one today at" in text
    assert done.events == (("reminders_on", {"interval": 3600}),)


def test_interval_default_comes_from_the_setting_even_when_unusual() -> None:
    first = valid(step(Plan(), Open(), ctx(WEDNESDAY_10, default_interval=30)))
    assert first.plan.interval == 30
    at_interval = valid(
        step(
            replace(first.plan, step="interval"),
            Choose("interval", 30),
            ctx(WEDNESDAY_10, default_interval=30),
        )
    )
    assert at_interval.plan.interval == 30 and at_interval.plan.step == "zone"


def test_time_zones_typed_are_validated() -> None:
    at_zone = run(
        Plan(),
        Open(),
        Choose("days"),
        Choose("start", 480),
        Choose("end", 960),
        Choose("interval", 2700),
    )
    assert at_zone.plan.step == "zone"
    assert zone_choices(ctx(WEDNESDAY_10))[0] == "Europe/London"
    asked = run(at_zone.plan, TypeZone())
    assert "Type the name" in asked.replies[0].text
    wrong = run(at_zone.plan, ZoneTyped("Mars/Olympus <b>"))
    assert wrong.plan == at_zone.plan
    assert "I don't know a time zone called “Mars/Olympus &lt;b&gt;”" in wrong.replies[0].text
    typed = run(at_zone.plan, ZoneTyped(" america/chicago "))
    assert typed.plan.step == "zoneok" and typed.plan.status == "setup"
    right = run(typed.plan, ZoneConfirm("America/Chicago"))
    assert right.plan.zone == "America/Chicago" and right.plan.status == "active"
    assert right.plan.interval == 2700 and right.plan.start == 480
    assert find_zone("Europe/Paris") == "Europe/Paris" and find_zone("x" * 100) is None


def test_a_typed_city_is_confirmed_with_the_local_time_before_it_is_set() -> None:
    at_zone = run(Plan(), Open(), Choose("days"), Choose("start", 540), Choose("end", 1020))
    at_zone = run(at_zone.plan, Choose("interval", 3600))
    asked = run(at_zone.plan, ZoneTyped("Berlin"))
    (reply,) = asked.replies
    assert asked.plan.step == "zoneok" and asked.plan.status == "setup"
    assert "Berlin → <b>Europe/Berlin</b>, where it is now 11:00. Right?" in reply.text
    assert labels_of(asked) == [labels.zone_yes, labels.zone_retype]
    yes = reply.buttons[0][0].data
    assert decode(yes) == ZoneConfirm("Europe/Berlin")
    # "No, type again": back to the typed question, nothing set
    again = run(asked.plan, decode(reply.buttons[0][1].data))
    assert again.plan.step == "zone" and again.plan.status == "setup"
    assert "Type the name" in again.replies[0].text
    assert step(again.plan, decode(yes), ctx(WEDNESDAY_10)).stale, "no longer asked"
    # typing another answer replaces the first; the first's Yes is out of date then
    offset = run(asked.plan, ZoneTyped("UTC+3"))
    assert offset.plan.zone == "Etc/GMT-3" and "UTC+3 → <b>UTC+3</b>, where it is now 13:00" in (
        offset.replies[0].text
    )
    old_yes = step(offset.plan, decode(yes), ctx(WEDNESDAY_10))
    assert old_yes.stale and old_yes.plan == offset.plan
    forged = step(offset.plan, ZoneConfirm("Asia/Tokyo"), ctx(WEDNESDAY_10))
    assert forged.stale and forged.plan == offset.plan
    assert decode("rs:zy:") is None
    done = run(offset.plan, decode(offset.replies[0].buttons[0][0].data))
    assert done.plan.status == "active" and done.plan.zone == "Etc/GMT-3"
    assert "(UTC+3)" in done.replies[0].text and "All set" in done.replies[0].text
    assert done.replies[0].replace, "the confirmation becomes the panel"
    # a zone button still answers the open setup; /reminders starts it again from the
    # days, with what was chosen kept (then the old confirmation is out of date)
    assert run(asked.plan, Choose("zone", 0)).plan.zone == "Europe/London"
    again = run(asked.plan, Open())
    assert "Which days" in again.replies[0].text and again.plan.step == "days"
    assert (again.plan.days, again.plan.zone) == (asked.plan.days, asked.plan.zone)
    assert step(again.plan, Choose("zone", 0), ctx(WEDNESDAY_10)).stale


def test_typed_working_hours_including_a_night_shift() -> None:
    at_start = run(Plan(), Open(), Choose("days"))
    assert at_start.plan.step == "start" and wants_hours(at_start.plan)
    night = run(at_start.plan, HoursTyped("22:00-06:00"))
    assert (night.plan.start, night.plan.end, night.plan.step) == (22 * 60, 6 * 60, "interval")
    assert night.plan.window.overnight
    at_end = run(at_start.plan, Choose("start", 480))
    assert wants_hours(at_end.plan)
    typed_at_end = run(at_end.plan, HoursTyped("6:30 to 22"))
    assert (typed_at_end.plan.start, typed_at_end.plan.end) == (390, 1320)
    done = run(night.plan, Choose("interval", 3600), Choose("zone", 0))
    text = done.replies[-1].text
    assert "Monday to Friday, 22:00 to 06:00 the next morning (Europe/London)" in text
    assert "next one today at 22:" in text
    assert not wants_hours(done.plan) and not wants_hours(night.plan)
    assert step(done.plan, HoursTyped("9-17"), ctx(WEDNESDAY_10)).stale


@pytest.mark.parametrize("text", ["soon", "9", "25-3", "9:00-9:00", "9:75-17", "<b>x</b>"])
def test_nonsense_hours_get_a_clear_answer_and_the_question_again(text: str) -> None:
    at_start = run(Plan(), Open(), Choose("days"))
    refused = run(at_start.plan, HoursTyped(text))
    assert refused.plan == at_start.plan
    (reply,) = refused.replies
    assert "couldn't read" in reply.text and "22:00-06:00" in reply.text
    assert labels_of(refused) == ["07:00", "08:00", "✅ 09:00", "10:00"]


def test_hours_shorter_than_the_shortest_interval_are_refused() -> None:
    at_start = run(Plan(), Open(), Choose("days"))
    short = run(at_start.plan, HoursTyped("23:50-00:10"))
    assert short.plan == at_start.plan
    assert "23:50 to 00:10 is shorter than" in short.replies[0].text
    assert "30 minutes" in short.replies[0].text
    fits = run(at_start.plan, HoursTyped("23:30-00:30"))
    assert fits.plan.step == "interval"
    assert labels_of(fits) == ["30 min", "45 min", "✅ 1 h"]
    assert step(fits.plan, Choose("interval", 7200), ctx(WEDNESDAY_10)).stale


def test_stale_setup_buttons_change_nothing() -> None:
    at_start = run(Plan(), Open(), Choose("days"))
    for event in (
        Choose("days"),
        Choose("day", 3),
        Choose("end", 17 * 60),
        Choose("start", 123),
        Choose("zone", 0),
    ):
        stale = step(at_start.plan, event, ctx(WEDNESDAY_10))
        assert stale.stale and stale.plan == at_start.plan
    nothing = run(
        Plan(),
        Open(),
        Choose("day", 0),
        Choose("day", 1),
        Choose("day", 2),
        Choose("day", 3),
        Choose("day", 4),
    )
    assert nothing.plan.days == frozenset()
    refused = step(nothing.plan, Choose("days"), ctx(WEDNESDAY_10))
    assert refused.plan.step == "days" and refused.notice == labels.pick_a_day


def test_panel_pause_resume_off_and_on_again() -> None:
    plan = set_up().plan
    paused = run(plan, Manage("pause"))
    assert paused.plan.status == "paused" and "paused" in paused.replies[0].text
    assert labels_of(paused) == [labels.plan_resume, labels.plan_change, labels.plan_off]
    resumed = run(paused.plan, Manage("resume"))
    assert resumed.plan.status == "active" and resumed.plan.next_due is not None
    off = run(resumed.plan, Manage("off"))
    assert off.plan.status == "off" and labels_of(off) == [labels.plan_on]
    again = run(off.plan, Manage("on"))
    assert again.plan.status == "setup" and again.plan.interval == plan.interval
    assert step(off.plan, Manage("pause"), ctx(WEDNESDAY_10)).stale


def test_a_due_prompt_rotates_and_schedules_the_next() -> None:
    plan = set_up().plan
    first = valid(due(plan, ctx(plan.next_due)))
    assert first.plan.seq == 1 and first.plan.last_prompt in prompt_names()
    assert labels_of(first) == [
        labels.prompt_done,
        labels.prompt_snooze,
        labels.prompt_skip,
        labels.prompt_today,
        labels.prompt_settings,
    ]
    assert "Alice" in first.replies[0].text
    assert first.plan.next_due - plan.next_due == timedelta(hours=1)
    kinds = []
    current = first.plan
    for _ in range(len(prompt_names()) * 2):
        current = due(current, ctx(current.next_due)).plan
        kinds.append(current.last_prompt)
    assert all(a != b for a, b in itertools.pairwise(kinds))
    assert set(kinds) == set(prompt_names())


def test_late_prompts_keep_a_full_interval_and_missed_ones_are_skipped() -> None:
    plan = set_up().plan
    late = due(plan, ctx(plan.next_due + timedelta(seconds=40)))
    assert late.replies and late.plan.next_due >= plan.next_due + timedelta(hours=1, seconds=40)
    missed = due(plan, ctx(plan.next_due + timedelta(minutes=30)))
    assert missed.replies == () and missed.plan.seq == plan.seq
    assert missed.plan.next_due > plan.next_due + timedelta(minutes=30)


def test_a_prompt_due_just_before_the_window_ends_is_still_sent_a_little_late() -> None:
    """Due at 16:59:58, its send slot comes at 17:00:04 (the bot is busy): the client still
    gets it, rather than it vanishing because the working day ended while it waited."""
    plan = replace(set_up().plan, next_due=london(2026, 11, 25, 16, 59, 58))
    late = due(plan, ctx(london(2026, 11, 25, 17, 0, 4)))
    assert late.replies and late.plan.seq == plan.seq + 1
    assert late.plan.next_due > london(2026, 11, 26, 0, 0)


def test_prompt_buttons() -> None:
    plan = set_up().plan
    sent = due(plan, ctx(plan.next_due)).plan
    now = sent.next_due - timedelta(minutes=50)
    done = step(
        sent, PromptAction(sent.seq, "done"), ctx(now, breaks={now.astimezone(LONDON).date(): 2})
    )
    assert done.break_done == now.astimezone(LONDON).date()
    assert "That's 3 breaks today" in done.replies[0].text
    assert done.plan.last_interaction_on == done.break_done
    snoozed = step(sent, PromptAction(sent.seq, "snooze"), ctx(now))
    assert snoozed.plan.next_due == now + timedelta(minutes=15)
    skipped = step(sent, PromptAction(sent.seq, "skip"), ctx(now))
    assert skipped.plan.next_due == sent.next_due and "Skipped" in skipped.replies[0].text
    today = step(sent, PromptAction(sent.seq, "today"), ctx(now))
    assert today.plan.next_due.astimezone(LONDON).date() > now.astimezone(LONDON).date()
    assert "tomorrow at" in today.replies[0].text
    settings = step(sent, PromptAction(sent.seq, "settings"), ctx(now))
    assert "Your movement-break reminders" in settings.replies[0].text
    old = step(sent, PromptAction(sent.seq - 1, "done"), ctx(now))
    assert old.stale and old.break_done is None and old.notice == labels.prompt_passed


def test_snooze_never_runs_past_the_window() -> None:
    plan = set_up().plan
    sent = due(plan, ctx(plan.next_due)).plan
    evening = london(2026, 11, 25, 16, 50)
    refused = step(sent, PromptAction(sent.seq, "snooze"), ctx(evening))
    assert refused.plan.next_due == sent.next_due and refused.notice == labels.snooze_not_now


def test_ignored_for_days_a_check_in_instead_of_more_prompts() -> None:
    plan = set_up(london(2026, 11, 23, 8, 0)).plan  # Monday morning
    for _ in range(40):  # a week of prompts, none tapped
        result = due(plan, ctx(plan.next_due))
        plan = result.plan
        if plan.status == "asking":
            break
    assert plan.status == "asking" and plan.unanswered_days == CHECK_IN_AFTER
    assert "haven't tapped" in result.replies[0].text
    assert labels_of(result) == [labels.check_in_keep, labels.check_in_fewer, labels.check_in_stop]
    fewer = run(plan, CheckIn("fewer"), now=plan.next_due)
    assert fewer.plan.status == "active" and fewer.plan.interval == 7200
    stop = run(plan, CheckIn("stop"), now=plan.next_due)
    assert stop.plan.status == "off"


def test_weekly_summary_counts_the_week() -> None:
    plan = set_up().plan
    assert plan.summary_due == london(2026, 11, 27, 17, 0)
    breaks = {
        date(2026, 11, 23): 3,
        date(2026, 11, 24): 2,
        date(2026, 11, 27): 4,
        date(2026, 11, 20): 9,
    }
    week = valid(summary(plan, ctx(plan.summary_due, breaks=breaks)))
    assert "you moved 9 times this week" in week.replies[0].text
    assert week.plan.summary_due == london(2026, 12, 4, 17, 0)
    quiet = summary(plan, ctx(plan.summary_due))
    assert quiet.replies == () and quiet.plan.summary_due == london(2026, 12, 4, 17, 0)
    # A few hours late (the bot was restarting): still said. Nine days late (a red-flag hold
    # lifted, or a long outage): that week is old news, and the next summary is planned.
    late = valid(summary(plan, ctx(plan.summary_due + timedelta(hours=5), breaks=breaks)))
    assert "you moved 9 times this week" in late.replies[0].text
    stale = summary(plan, ctx(plan.summary_due + timedelta(days=9), breaks=breaks))
    assert stale.replies == () and stale.plan.summary_due == london(2026, 12, 11, 17, 0)


def night_shift(now: datetime) -> Plan:
    """Monday to Friday nights, 22:00 to 06:00, hourly, London."""
    return run(
        Plan(),
        Open(),
        Choose("days"),
        HoursTyped("22:00-06:00"),
        Choose("interval", 3600),
        Choose("zone", 0),
        now=now,
    ).plan


def test_a_night_shift_prompts_after_midnight_counts_as_one_day_and_ends_its_week() -> None:
    plan = night_shift(london(2026, 11, 24, 2, 0))  # Tuesday 02:00, in Monday's shift
    assert plan.next_due is not None and plan.next_due <= london(2026, 11, 24, 3, 0)
    prompted = due(plan, ctx(plan.next_due))
    assert prompted.replies and prompted.plan.last_prompt_on == date(2026, 11, 23)
    done = run(prompted.plan, PromptAction(prompted.plan.seq, "done"), now=plan.next_due)
    assert done.break_done == date(2026, 11, 23), "a break at 02:00 counts for Monday's shift"
    paused = run(prompted.plan, PromptAction(prompted.plan.seq, "today"), now=plan.next_due)
    assert paused.plan.paused_until == london(2026, 11, 24, 6, 0)
    assert paused.plan.next_due is not None
    assert paused.plan.next_due.astimezone(LONDON).strftime("%a %H") == "Tue 22"
    # the week ends when Friday's shift does, on Saturday morning, and counts its breaks
    assert plan.summary_due == london(2026, 11, 28, 6, 0)
    breaks = {date(2026, 11, 23): 1, date(2026, 11, 27): 2, date(2026, 11, 30): 5}
    week = valid(summary(plan, ctx(plan.summary_due, breaks=breaks)))
    assert "you moved 3 times this week" in week.replies[0].text
    assert week.plan.summary_due == london(2026, 12, 5, 6, 0)


def test_fewer_prompts_never_outgrow_a_short_window() -> None:
    plan = run(
        Plan(),
        Open(),
        Choose("days"),
        HoursTyped("23:00-00:30"),
        Choose("interval", 3600),
        Choose("zone", 0),
    ).plan
    asking = replace(plan, status="asking")
    fewer = run(asking, CheckIn("fewer"))
    assert fewer.plan.interval == 5400 and fewer.plan.next_due is not None


@pytest.mark.parametrize(
    "event",
    [
        Open(),
        Choose("day", 3),
        Choose("days"),
        Choose("start", 540),
        Choose("zone", 2),
        TypeZone(),
        Manage("pause"),
        Manage("on"),
        PromptAction(12, "snooze"),
        CheckIn("fewer"),
    ],
)
def test_callback_data_round_trip(event: object) -> None:
    assert decode(encode(event)) == event  # type: ignore[arg-type]


def test_every_movement_prompt_says_stop_if_it_hurts_and_never_pushes_to_the_maximum() -> None:
    plan = set_up().plan
    seen = {}
    current = plan
    for _ in range(len(prompt_names())):
        result = due(current, ctx(current.next_due))
        seen[result.plan.last_prompt] = result.replies[0].text
        current = result.plan
    assert set(seen) == set(prompt_names())
    for name, text in seen.items():
        assert "stop if it hurts" in text.lower(), name
        assert "as hard as you can" not in text.lower(), name


@pytest.mark.parametrize("tier", ["A", "B"])
def test_a_held_client_gets_the_urgent_advice_instead_of_any_reminder_step(tier: str) -> None:
    plan = set_up().plan
    held = Safety(tier, "chest", "chest pain")
    events = (Open(), Manage("on"), PromptAction(plan.seq, "done"), ZoneTyped("Europe/Paris"))
    for event in events:
        result = valid(step(plan, event, ctx(WEDNESDAY_10, safety=held)))
        assert result.plan == plan and not result.stale and result.break_done is None
        (reply,) = result.replies
        assert ("999" if tier == "A" else "doctor today") in reply.text
        assert labels_of(result) == [labels.doctor_checked, labels.talk_to_therapist]
    assert (
        not step(plan, Open(), ctx(WEDNESDAY_10, safety=Safety("C", "worsening")))
        .replies[0]
        .text.startswith("🚨")
    )


def test_typed_hours_are_a_mode_of_their_own_where_the_chat_decides() -> None:
    at_start = run(Plan(), Open(), Choose("days")).plan
    mode = awaiting(
        "done",
        zone_asked=wants_zone(at_start),
        hours_asked=wants_hours(at_start),
    )
    assert mode == Awaiting.HOURS
    at_zone = run(at_start, HoursTyped("9-17"), Choose("interval", 3600)).plan
    assert awaiting("done", zone_asked=wants_zone(at_zone), hours_asked=wants_hours(at_zone)) == (
        Awaiting.ZONE
    )
    assert awaiting("done", hours_asked=True, staff_draft="compose") == Awaiting.STAFF_TIP


@pytest.mark.parametrize(
    ("text", "word"),
    [("Done!", "done"), ("did it ✅", "done"), ("STOP", "stop"), ("stop reminders", "stop"),
     ("snooze", "snooze"), ("Pause.", "today"), ("pause for today", "today")],
)  # fmt: skip
def test_a_word_typed_at_a_prompt_stands_for_its_button(text: str, word: str) -> None:
    assert typed_word(text) == word
    assert typed_word(f"I'm {text} with the exercises, they hurt") is None, "a sentence is not"


def test_typed_words_act_on_the_latest_prompt_once() -> None:
    plan = set_up().plan
    sent = due(plan, ctx(plan.next_due)).plan
    now = sent.next_due - timedelta(minutes=50)
    done = step(sent, TypedWord("done"), ctx(now))
    assert done.break_done is not None and "break" in done.replies[0].text
    again = step(done.plan, TypedWord("done"), ctx(now))
    assert again.stale and again.break_done is None, "the same prompt counts once"
    tapped = step(done.plan, PromptAction(sent.seq, "done"), ctx(now))
    assert tapped.stale and tapped.notice == labels.prompt_passed, "its buttons are spent too"
    snoozed = step(sent, TypedWord("snooze"), ctx(now))
    assert snoozed.plan.next_due == now + timedelta(minutes=15)
    paused = step(sent, TypedWord("today"), ctx(now))
    assert paused.plan.next_due.astimezone(LONDON).date() > now.astimezone(LONDON).date()
    stopped = step(done.plan, TypedWord("stop"), ctx(now))
    assert (
        stopped.plan.status == "off" and "Your movement-break reminders" in stopped.replies[0].text
    )
    # With no prompt open, "pause" pauses them; "done" means nothing here.
    assert step(done.plan, TypedWord("today"), ctx(now)).plan.status == "paused"
    assert step(Plan(), TypedWord("stop"), ctx(now)).stale, "no reminders: nothing to stop"
    # Held by a red flag: "stop" still turns them off, "done" gets the advice.
    held = Safety("A", "chest", "chest pain")
    assert step(sent, TypedWord("stop"), ctx(now, safety=held)).plan.status == "off"
    advice = step(sent, TypedWord("done"), ctx(now, safety=held))
    assert advice.break_done is None and "999" in advice.replies[0].text


def test_the_rotation_leaves_out_what_a_contraindication_rules_out() -> None:
    assert ruled_out_by("bridge") >= {"laser"}, "no lying on the back in pregnancy"
    plan = set_up().plan
    kinds = []
    current = plan
    for _ in range(len(prompt_names()) * 2):
        current = due(current, ctx(current.next_due, contra=frozenset({"laser"}))).plan
        kinds.append(current.last_prompt)
    assert "bridge" not in kinds
    assert set(kinds) == set(prompt_names()) - {"bridge"}
    fresh = due(plan, ctx(plan.next_due, key=0, contra=frozenset({"hands_on"}))).plan
    assert fresh.last_prompt != "bridge"
