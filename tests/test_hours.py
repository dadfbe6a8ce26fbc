"""Working hours as clients type them (`dialogs.hours`)."""

from __future__ import annotations

import pytest

from dialogs.hours import parse_hours


def hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@pytest.mark.parametrize(
    ("typed", "start", "end"),
    [
        ("06:30-22:00", "06:30", "22:00"),
        ("6:30 to 22", "06:30", "22:00"),
        ("22:00-06:00", "22:00", "06:00"),  # overnight
        ("9-17", "09:00", "17:00"),
        ("9am-5pm", "09:00", "17:00"),
        ("9 AM - 5 PM", "09:00", "17:00"),
        ("10p.m.-6a.m.", "22:00", "06:00"),
        ("9pm-5am", "21:00", "05:00"),
        ("21.00–05.30", "21:00", "05:30"),
        ("0900-1700", "09:00", "17:00"),
        ("9h-17h", "09:00", "17:00"),
        ("8h30 - 16h45", "08:30", "16:45"),
        ("from 9 to 17", "09:00", "17:00"),
        ("8:30—16:45", "08:30", "16:45"),
        ("9-5pm", "09:00", "17:00"),
        ("1-5pm", "13:00", "17:00"),
        ("9-5", "09:00", "17:00"),  # the working day, not 20 hours
        ("21-5", "21:00", "05:00"),
        ("12am-8am", "00:00", "08:00"),
        ("12pm-8pm", "12:00", "20:00"),
        ("22-24", "22:00", "00:00"),
        ("18:00 until 02:00", "18:00", "02:00"),
    ],
)
def test_parses(typed: str, start: str, end: str) -> None:
    assert parse_hours(typed) == (hm(start), hm(end))


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "hello",
        "9",
        "9 to",
        "9-9",
        "22:00-22:00",
        "25-3",
        "9:60-17",
        "13pm-5pm",
        "0am-5am",
        "24:30-06:00",
        "9-17-18",
        "nine to five",
        "9:5-17",
        "1" * 70,
    ],
)
def test_refuses(typed: str) -> None:
    assert parse_hours(typed) is None
