"""The clinic's content: its facts reach every text, and a mistake in it is found (and named
with its place) before a client meets it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs import render as rendering
from dialogs.content import load_content
from dialogs.content_file import ContentError
from dialogs.engine import Context, State, step
from dialogs.events import Crisis
from dialogs.render import TEMPLATES
from tests.content import content_folder, line_of, shipped

AUSTRALIA = {
    "numbers": [{"number": "000"}],
    "urgent_care": "the emergency department",
    "doctor_today": "your GP or healthdirect on 1800 022 222",
    "phone_doctor": "healthdirect or a doctor on the phone",
    "crisis_lines": [
        {
            "name": "Lifeline",
            "number": "13 11 14",
            "how": "call <b>13 11 14</b>, any time",
            "button": "💛 Lifeline: talk to someone now",
            "url": "https://www.lifeline.org.au/",
        }
    ],
}


@pytest.fixture
def australian(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An Australian clinic's content in use; the shipped content again afterwards."""
    folder = content_folder(
        tmp_path, clinic={"timezone": "Australia/Sydney", "emergency": AUSTRALIA}
    )
    content = load_content(folder)
    rendering.use(content.templates)
    yield content
    rendering.use(load_content().templates)


def test_emergency_numbers_come_from_the_clinics_country(australian) -> None:  # type: ignore[no-untyped-def]
    advice = rendering.render("red_flag_a", label="numbness", held=False, talking=False)
    assert "Call <b>000</b>, or" in advice and "the emergency department" in advice
    assert "999" not in advice and "112" not in advice and "A&amp;E" not in advice
    hold = rendering.render("safety_hold", tier="B", label="x", since=None, short=True)
    assert "your GP or healthdirect on 1800 022 222" in hold and "NHS" not in hold
    crisis = step(
        State(first_name="Ann"),
        Crisis(),
        Context(australian.questionnaire, {}, new_key="K", clinic=australian.clinic),
    )
    (reply,) = crisis.replies
    assert "<b>Lifeline</b>: call <b>13 11 14</b>, any time" in reply.text
    assert "Samaritans" not in reply.text and "988" not in reply.text
    assert [b.url for row in reply.buttons for b in row if b.url] == [
        "https://www.lifeline.org.au/"
    ]


def test_a_missing_or_broken_field_is_named_with_its_line(tmp_path: Path) -> None:
    emergency = dict(shipped("clinic.yaml")["emergency"], numbers=[])
    folder = content_folder(
        tmp_path, clinic={"emergency": emergency, "website": "bodymechanix", "name": None}
    )
    with pytest.raises(ContentError) as error:
        load_content(folder)
    clinic = folder / "clinic.yaml"
    numbers, website = line_of(clinic, "  numbers:"), line_of(clinic, "website:")
    assert error.value.problems == (
        f"{clinic}:1: name: Field required",
        f"{clinic}:{website}: website: must be a public http(s) URL such as "
        "https://example.com/book",
        f"{clinic}:{numbers}: emergency.numbers: List should have at least 1 item after "
        "validation, not 0",
    )


def test_a_folder_without_its_own_clinic_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "questionnaire.yaml").write_text("version: 1\n")
    with pytest.raises(ContentError, match="clinic.yaml: missing"):
        load_content(tmp_path)


def test_both_sides_of_a_condition_are_rendered_and_checked(tmp_path: Path) -> None:
    """A broken tag only where a value is missing, or only where it is there: both found."""
    folder = content_folder(
        tmp_path,
        templates={
            "cancelled.j2": "{% if what %}Stopped {{ what }}.{% else %}<i>Nothing{% endif %}",
            "nothing_to_cancel.j2": "{% for item in items %}<b>{{ item }}{% endfor %}",
            "question_moved.j2": "{{ clinic.emergency.short }} — {{ count + 1 }} left",
        },
    )
    with pytest.raises(ContentError) as error:
        load_content(folder)
    problems = sorted(error.value.problems)
    assert problems == [
        f"{folder / 'templates' / 'cancelled.j2'}:1: Telegram would refuse the message: "
        'Can\'t find end tag corresponding to start tag "i"',
        f"{folder / 'templates' / 'nothing_to_cancel.j2'}:1: Telegram would refuse the "
        'message: Can\'t find end tag corresponding to start tag "b"',
    ], "arithmetic on a sample value and the clinic's facts render fine"


def test_a_template_the_clinic_overrides_replaces_only_that_one(tmp_path: Path) -> None:
    folder = content_folder(
        tmp_path, templates={"cancelled.j2": "Stopped, {{ clinic.called }} style."}
    )
    env = load_content(folder).templates
    assert env.get_template("cancelled.j2").render().strip() == "Stopped, BodyMechanix style."
    assert "What I can do" in env.get_template("help.j2").render(staff=False, faq=True)


def test_button_labels_and_the_command_menu_are_checked_as_telegram_takes_them(
    tmp_path: Path,
) -> None:
    buttons = (
        (TEMPLATES / "buttons.j2")
        .read_text()
        .replace('{% set back = "« Back" %}', '{% set back = "  " %}', 1)
    )
    commands = (TEMPLATES / "commands.j2").read_text().replace('("start", ', '("Start!", ', 1)
    folder = content_folder(tmp_path, templates={"buttons.j2": buttons, "commands.j2": commands})
    with pytest.raises(ContentError) as error:
        load_content(folder)
    assert sorted(error.value.problems) == [
        f"{folder / 'templates' / 'buttons.j2'}: label 'back' is empty: Telegram shows a "
        "button's text on one line, and refuses one without text",
        f"{folder / 'templates' / 'commands.j2'}: commands: 'Start!' is not a command name",
    ]
