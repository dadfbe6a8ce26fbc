"""A client's progress, without Telegram or a database: the weekly pain check-in and /progress.

**When the check-in is asked.** With the first movement prompt a client gets in a week of
their own (Monday to Sunday in their zone, by `dialogs.schedule.week_of`), as a message right
before it. A prompt is sent only inside the client's working hours, only to an
active plan of a reachable client who is not held by a red flag, and it is claimed once with
its plan row locked: riding on it, the check-in inherits all of that with no schedule of its
own, and lands while the client is at their desk, not at the end of a week without a break
(when the weekly summary stays silent). Only with health consent: a pain score is health data.
The first week's check-in is the starting point the later ones are compared with.

**A sharp worsening** (`sharp_worsening`) is a score of `HIGH_SCORE` or more, or one at least
`WORSE_BY` points above the client's previous answer. It offers a new self-check (the
existing one: its button) and repeats the list of symptoms that need urgent care, since
pain that keeps getting worse is worth a fresh look.

**/progress** charts the last `WEEKS` weeks: breaks done per week (bars) and the pain score
of each week answered (a line), with one plain sentence about the trend (`trend`, `caption`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from dialogs.callbacks import Press, press
from dialogs.events import NewScreening
from dialogs.render import labels, render
from dialogs.replies import Button, Keyboard, Reply
from dialogs.safety import Safety, hold_reply

SCORES = range(11)  # 0 (no pain) to 10 (the worst imaginable)
HIGH_SCORE = 8  # this much pain or more is a sharp worsening whatever came before
WORSE_BY = 3  # ...and so is a score this many points above the previous answer
WEEKS = 12  # the span /progress shows


def sharp_worsening(score: int, previous: int | None) -> bool:
    """Whether an answer calls for a new self-check: high pain, or a jump since last time."""
    return score >= HIGH_SCORE or (previous is not None and score - previous >= WORSE_BY)


# --- the check-in and its buttons ---------------------------------------------------------------


@press("pn")
@dataclass(frozen=True)
class Answer(Press):
    """A button under the check-in of the week starting on Monday `week`: a score, or None
    for "skip this week"."""

    week: date
    score: int | None = None

    @property
    def valid(self) -> bool:
        """Data this version makes: a Monday, and a score on the scale."""
        return self.week.weekday() == 0 and (self.score is None or self.score in SCORES)


def question(week: date, name: str = "") -> Reply:
    """The check-in: 0 to 5 and 6 to 10 in two rows, then "skip this week"."""
    row = tuple(Button(str(score), Answer(week, score)) for score in SCORES)
    buttons: Keyboard = (
        row[:6],
        row[6:],
        (Button(labels.checkin_skip, Answer(week, None)),),
    )
    return Reply(render("progress/checkin", name=name), buttons)


@dataclass(frozen=True)
class Checkin:
    """A check-in as stored: its week, and its score and time once answered or skipped."""

    week: date
    score: int | None = None
    answered: bool = False


@dataclass(frozen=True)
class Outcome:
    """What an answer does: the replies, a toast, and what to record (`record` False: the
    press changes nothing: stale, already answered, or a held client's score)."""

    replies: tuple[Reply, ...] = ()
    notice: str | None = None
    record: bool = False


def answer(
    checkin: Checkin | None,
    pressed: Answer,
    *,
    previous: int | None,
    consent: bool,
    safety: Safety,
    emergency: Sequence[str] = (),
    doctor_today: Sequence[str] = (),
) -> Outcome:
    """A press under a check-in. `checkin` is the stored one for the pressed week (None: never
    sent to this client, or erased since); `previous` the client's answer before that week."""
    if not consent:
        return Outcome(notice=labels.checkin_no_consent)
    if checkin is None:
        return Outcome(notice=labels.checkin_passed)
    if checkin.answered:
        return Outcome(notice=labels.checkin_answered)
    if pressed.score is None:
        return Outcome((Reply(render("progress/skipped"), replace=True),), record=True)
    if safety.holds:
        # A red flag since it was asked: the urgent advice, not a pain diary.
        return Outcome((hold_reply(safety),))
    worse = sharp_worsening(pressed.score, previous)
    thanks = Reply(render("progress/thanks", score=pressed.score, previous=previous), replace=True)
    if not worse:
        return Outcome((thanks,), record=True)
    offer = Reply(
        render(
            "progress/worse",
            score=pressed.score,
            previous=previous,
            emergency=emergency,
            doctor_today=doctor_today,
        ),
        ((Button(labels.new_check, NewScreening()),),),
    )
    return Outcome((thanks, offer), record=True)


# --- /progress ----------------------------------------------------------------------------------


def weeks_to(this_week: date, count: int = WEEKS) -> tuple[date, ...]:
    """The Mondays of the `count` weeks up to and including the one starting `this_week`."""
    return tuple(this_week - timedelta(weeks=n) for n in reversed(range(count)))


@dataclass(frozen=True)
class Series:
    """What the chart shows: per week (its Monday), the breaks done and the pain answered."""

    weeks: tuple[date, ...]
    breaks: tuple[int, ...]
    pain: tuple[int | None, ...]


def series(
    weeks: Sequence[date], breaks: Mapping[date, int], answers: Mapping[date, int]
) -> Series:
    """Breaks (per local day, as counted) summed into the week each day is in; pain scores
    (per week) placed in theirs. Anything outside the weeks is left out."""
    first, end = weeks[0], weeks[-1] + timedelta(days=7)
    per_week = dict.fromkeys(weeks, 0)
    for day, done in breaks.items():
        if first <= day < end:
            per_week[day - timedelta(days=day.weekday())] += done
    return Series(tuple(weeks), tuple(per_week.values()), tuple(answers.get(w) for w in weeks))


@dataclass(frozen=True)
class Trend:
    """The sentence's facts. `kind`: none (no pain answered yet), one, better, same or worse;
    `weeks` between the first and the latest answer; `breaks` done since the first answer's
    week (the whole chart without an answer)."""

    kind: Literal["none", "one", "better", "same", "worse"]
    breaks: int
    first: int | None = None
    last: int | None = None
    weeks: int = 0


def trend(data: Series) -> Trend:
    """The facts of the caption's sentence: the first answered week against the latest (not
    the chart's first week, which may have none), and the breaks done since that first one."""
    pairs = zip(data.weeks, data.pain, strict=True)
    answered = [(week, score) for week, score in pairs if score is not None]
    if not answered:
        return Trend("none", sum(data.breaks))
    (start, first), (end, last) = answered[0], answered[-1]
    breaks = sum(done for week, done in zip(data.weeks, data.breaks, strict=True) if week >= start)
    if len(answered) == 1:
        return Trend("one", breaks, first, last)
    kind: Literal["better", "same", "worse"] = (
        "better" if last < first else "worse" if last > first else "same"
    )
    return Trend(kind, breaks, first, last, (end - start).days // 7)


def caption(data: Series) -> str:
    """The one plain sentence under the chart (within a photo caption's 1024 characters)."""
    return render("progress/caption", t=trend(data), span=len(data.weeks))


def has_data(data: Series) -> bool:
    """Whether a chart would show anything: an empty one says less than "nothing yet"."""
    return any(data.breaks) or any(score is not None for score in data.pain)


def nothing_while_held(safety: Safety) -> Reply:
    """/progress with nothing to chart for a held client: the urgent advice and its buttons
    rather than the usual pointer to /reminders, which the hold blocks."""
    held = hold_reply(safety)
    return Reply(render("progress/no_data", held=held.text), held.buttons)
