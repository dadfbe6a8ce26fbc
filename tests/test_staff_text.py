"""Staff-written tips: the sandboxed template checks, and the panel's pure helpers."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dialogs import broadcasts as dialog
from dialogs.callbacks import decode, encode
from dialogs.render import render
from dialogs.staff_text import TipError, check_tip, from_telegram_html, render_tip, to_telegram_html

LONDON = ZoneInfo("Europe/London")


def test_a_tip_renders_each_name_escaped() -> None:
    template = "<b>Hi {{ first_name|title }}</b>, stand up &amp; stretch."
    check_tip(template)
    assert (
        render_tip(template, "zoë <b>&") == "<b>Hi Zoë &lt;B&gt;&amp;</b>, stand up &amp; stretch."
    )


def test_bounded_steps_still_do_what_a_tip_needs() -> None:
    """`~`, `+`, `*`, `%`, lists, slices, `{% set %}` and filter blocks work within the limits
    on each value (test_tip_bombs.py has them at the limits)."""
    template = (
        '{% set hi = "Hi " ~ first_name|title + "!" %}'
        "{% set line = '-' * 3 %}"
        '{% set days = ["Mon", "Wed"] + ["Fri"] %}'
        "{% set intro %}{{ hi }} {{ line }}{% endset %}"
        "{{ intro }} {{ '%s, %d%% on %s' % (first_name[:3], 5, days[-1]) }}"
        "{% filter upper %} ok{% endfilter %} {{ days[1:] is defined }}"
    )
    check_tip(template)
    assert render_tip(template, "zoë <b>&") == ("Hi Zoë &lt;B&gt;&amp;! --- zoë, 5% on Fri OK True")


@pytest.mark.parametrize(
    ("template", "line", "said"),
    [
        ("Hello\nHi {{ frist_name }}", 2, "Line 2: unknown placeholder {{ frist_name }}"),
        ("Hi {{ first_name ", 1, "Line 1: {{ is not closed: every {{ needs its }}"),
        ("Hi {{ name, stretch today!", 1, "{{ is not closed: every {{ needs its }}"),
        ("Hi {{ first_name }}\n{% if first_name yes", 2, "{% is not closed: every {% needs its %}"),
        ("{{ first_name }}\n{{ first_name !}}", 2, "check the {{ }} and {% %} on that line"),
        ("a\nb\n{% if %}", 3, "Expected an expression"),
        ("{{ first_name|center(100000000) }}", 1, "No filter named 'center'"),
        ("{{ first_name.__class__ }}", 1, "not allowed in a tip"),
        ("{{ 'x' * 4096 * 4096 }}", 1, "too big to check: line 1, * makes a text of over 8192"),
        ("{{ 9 ** 9 }}", 1, "powers"),
        ("{{ 1 / 0 }}", 1, "fails when filled in (division by zero)"),
        ("x\n{{ lipsum(1000000) }}", 2, "not loops, macros or function calls"),
        ("{{ first_name.center(10**8) }}", 1, "not loops, macros or function calls"),
        (
            "{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}",
            1,
            "loops",
        ),
        ("{% macro m() %}{{ m() }}{% endmacro %}", 1, "macros"),
        ("{{ " + "(" * 300 + "1" + ")" * 300 + " }}", None, "too big to check: it is nested"),
    ],
)
def test_template_faults_name_their_line(template: str, line: int, said: str) -> None:
    """Each fault comes back at once, in words the staff member reads, with its line; none
    keeps the bot busy (loops, huge repetitions and global functions are refused; more in
    test_tip_bombs.py)."""
    with pytest.raises(TipError) as caught:
        check_tip(template)
    assert caught.value.line == line
    shown = html.unescape(render("staff/tip_problem", error=caught.value))
    assert said.lower() in shown.lower()


def test_too_long_for_the_longest_name() -> None:
    """Checked with a 64-character name, the longest Telegram allows."""
    body = "x" * (4096 - 60)
    check_tip(body + " Hi!")
    with pytest.raises(TipError, match="too long"):
        check_tip(body + " {{ first_name }}")
    with pytest.raises(TipError, match="too long"):
        check_tip("y" * 1000 + "{{ first_name }}", caption=True)


def test_telegram_html_becomes_a_template() -> None:
    """PTB's text_html escapes quotes and <>& everywhere; inside {{ }} they are code."""
    html = "&lt;3 {{ first_name or &quot;friend&quot; }} &amp; {% if 1 &gt; 0 %}yes{% endif %}"
    template = from_telegram_html(html)
    assert template == '&lt;3 {{ first_name or "friend" }} &amp; {% if 1 > 0 %}yes{% endif %}'
    check_tip(template)
    assert render_tip(template, "") == "&lt;3 friend &amp; yes"


def test_button_data_round_trips_and_fits() -> None:
    longest = "source:" + "x" * 64
    pressed = dialog.BroadcastPress("seg", 2**31 - 1, dialog.segment_key(longest))
    raw = encode(pressed)
    assert len(raw.encode()) <= 64
    assert decode(raw) == pressed
    assert decode("bc:send:abc") is None
    assert not isinstance(decode("rs:open"), dialog.BroadcastPress)
    segments = ["all", "source:spring_flyer", "service:" + "t" * 200, longest]
    for segment in segments:
        assert dialog.segment_for_key(segments, dialog.segment_key(segment)) == segment
    assert dialog.segment_for_key(segments, "deadbeef00") is None


NOW = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)  # Saturday; clocks go forward on Sunday


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2027-03-29 09:30", datetime(2027, 3, 29, 8, 30, tzinfo=UTC)),  # BST: UTC+1
        ("27.03.2027 18:00", datetime(2027, 3, 27, 18, 0, tzinfo=UTC)),  # GMT
        ("28/03/2027 01:30", datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),  # in the gap
        ("13:15", datetime(2027, 3, 27, 13, 15, tzinfo=UTC)),  # later today
        ("11:00", datetime(2027, 3, 28, 10, 0, tzinfo=UTC)),  # passed: tomorrow, in BST
        ("tomorrow 9.00", datetime(2027, 3, 28, 8, 0, tzinfo=UTC)),
        ("  Today   14:00 ", datetime(2027, 3, 27, 14, 0, tzinfo=UTC)),
        ("25:00", None),
        ("next week", None),
    ],
)
def test_typed_times_in_the_clinic_zone(typed: str, expected: datetime | None) -> None:
    assert dialog.parse_when(typed, NOW, LONDON) == expected


def test_when_problems() -> None:
    assert dialog.when_problem(None, NOW) == "staff/when_unreadable"
    assert dialog.when_problem(datetime(2027, 3, 27, 11, 0, tzinfo=UTC), NOW) == "staff/when_past"
    assert dialog.when_problem(datetime(2028, 6, 1, tzinfo=UTC), NOW) == "staff/when_too_far"
    assert dialog.when_problem(datetime(2027, 4, 1, tzinfo=UTC), NOW) is None


def test_a_template_shown_back_is_telegram_html_again() -> None:
    template = '<b>Hi</b> {% if first_name > "" %}{{ first_name }}{% endif %} &amp; more'
    shown = to_telegram_html(template)
    assert shown == '<b>Hi</b> {% if first_name &gt; "" %}{{ first_name }}{% endif %} &amp; more'
    assert from_telegram_html(shown) == template
