"""A clinic makes the bot its own by writing only its content folder (CONTENT_DIR), and
changes it while the bot runs (SIGHUP), as a clinic owner would."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.runner import RunningBot
from bot.sandbox.emulator import BotApiEmulator, Message
from bot.sandbox.users import SimUser
from bot.settings import Settings
from dialogs.clinic import PACK
from dialogs.content import load_content
from dialogs.render import labels
from tests.content import content_folder, shipped
from tests.flows import bot_process, ready, settled


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is tested here is the content, which no database changes (the
    suite's other end-to-end tests run on PostgreSQL too)."""
    return f"sqlite:///{tmp_path / 'bmx.db'}"


NORTHSIDE_BOOKING = "https://northside-physio.example/book/"


def northside(folder: Path) -> Path:
    """Northside Physio: its own name, four services (a sports massage suggested to all), and
    the stairs question asked in its own words."""
    services = shipped("clinic.yaml")["services"]
    for service_id, service in services.items():
        service["booking_page"] = NORTHSIDE_BOOKING + service_id
    services["sports_massage"] = {
        "name": "Sports Massage",
        "line": "A deep massage for tight, overworked muscles.",
        "price": "£55",
        "booking_page": NORTHSIDE_BOOKING + "sports-massage",
    }
    questionnaire = (PACK / "questionnaire.yaml").read_text()
    questionnaire = questionnaire.replace("version: 3", "version: 7", 1)
    questionnaire = questionnaire.replace(
        'text: "When you walk <b>up stairs</b>, where do you feel the effort most?"',
        'text: "Climbing <b>a flight of stairs</b>: which muscles do the work?"',
        1,
    )
    questionnaire = questionnaire.replace(
        "recommend:\n", "recommend:\n  - {service: sports_massage, always: true}\n", 1
    )
    return content_folder(
        folder,
        clinic={
            "name": "Northside Physio Ltd",
            "short_name": "Northside Physio",
            "website": "https://northside-physio.example",
            "services": services,
        },
        files={"questionnaire.yaml": questionnaire},
    )


def logged(log: Path, words: str) -> Callable[[], bool]:
    """Whether the bot's log has a line with `words` yet (for `settled`)."""
    return lambda: words in log.read_text()


def everything_said(user: SimUser) -> str:
    """Every text, button and link the bot has shown in this chat."""
    parts = []
    for message in user.bot_messages():
        parts.append(message.shown_text)
        parts.extend(str(value) for b in message.flat_buttons for value in b.values())
    return "\n".join(parts)


async def answer_everything(user: SimUser, first: Message, folder: Path) -> Message:
    """Answer each question of the clinic's own questionnaire (the safe answer) to the end."""
    questionnaire = load_content(folder).questionnaire
    message, asked = first, []
    while "Question" in message.shown_text:
        question = next(q for q in questionnaire.questions if q.text.split("\n")[0] in message.html)
        asked.append(question.text)
        safe = next(o for o in question.options if not o.red_flag and not o.contra)
        if question.gate or any(o.contra for o in question.options):
            safe = next(o for o in question.options if o.id == "no")
        await user.tap(safe.label, message=message)
        message = (await user.next_action()).message
    assert "Climbing <b>a flight of stairs</b>: which muscles do the work?" in asked
    return message


async def test_a_clinic_runs_the_bot_as_its_own_by_writing_only_its_content_folder(
    settings: Settings, alice: SimUser, tmp_path: Path
) -> None:
    folder = northside(tmp_path / "northside")
    own = settings.model_copy(update={"content_dir": folder})
    async with RunningBot(own, poll_timeout=1.0, settle=False):
        await alice.send("/start")
        welcome = await alice.expect("Northside Physio")
        assert "I'm the Northside Physio assistant" in welcome.shown_text
        await alice.expect("Before the self-check")
        await alice.tap(labels.agree)
        await alice.expect("Tips from the clinic")
        await alice.tap(labels.tips_yes)
        first = await alice.expect("Question 1 of")
        result = await answer_everything(alice, first, folder)
        assert "Sports Massage" in result.shown_text
        booking = {b["text"]: b["url"] for b in result.flat_buttons if "url" in b}
        url = booking["📅 Book Sports Massage"]
        assert url.startswith(NORTHSIDE_BOOKING + "sports-massage?ref=")
        await alice.send("/privacy")
        await alice.expect("only the Northside Physio team")
        await alice.send("I want to kill myself")
        await alice.expect("Samaritans")
    assert "bodymechanix" not in everything_said(alice).casefold()


async def test_sighup_reloads_the_content_and_a_broken_folder_keeps_the_running_one(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    folder = northside(tmp_path / "northside")
    log = tmp_path / "bot.log"
    process = await bot_process(
        tmp_path,
        log=log,
        BOT_TOKEN=emulator.token,
        BOT_API_URL=emulator.base_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        CONTENT_DIR=str(folder),
    )
    try:
        await ready(emulator)
        alice = SimUser(emulator, 5001, "Alice")
        await alice.send("/help")
        await alice.expect("I'm the Northside Physio assistant")

        facts = yaml.safe_load((folder / "clinic.yaml").read_text())
        facts["short_name"] = "Northside Physio & Sports"
        (folder / "clinic.yaml").write_text(yaml.safe_dump(facts))
        process.send_signal(signal.SIGHUP)

        assert await settled(emulator, logged(log, "content reloaded from"))
        await alice.send("/help")
        await alice.expect("I'm the Northside Physio & Sports assistant")

        (folder / "templates").mkdir()
        (folder / "templates" / "help.j2").write_text("<b>Help is here\n")
        process.send_signal(signal.SIGHUP)

        assert await settled(emulator, logged(log, "content not reloaded"))
        await alice.send("/help")
        await alice.expect("I'm the Northside Physio & Sports assistant")
        lines = [line for line in log.read_text().splitlines() if "content not reloaded" in line]
        assert len(lines) == 1 and "help.j2:1: Telegram would refuse the message" in lines[0]
        assert "Traceback" not in log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 0


def test_content_init_writes_a_complete_copy_that_checks(tmp_path: Path) -> None:
    from tests.test_cli import bmx

    folder = tmp_path / "ours"
    made = bmx(tmp_path, "content", "init", str(folder))
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in folder.iterdir()) == [
        "clinic.yaml",
        "emergency.yaml",
        "faq.yaml",
        "questionnaire.yaml",
        "templates",
        "tips.yaml",
    ]
    assert (folder / "clinic.yaml").read_text().startswith("# The clinic's own facts.")
    checked = bmx(tmp_path, "check", CONTENT_DIR=str(folder))
    assert checked.returncode == 0, checked.stderr
    assert "content OK" in checked.stdout
    again = bmx(tmp_path, "content", "init", str(folder))
    assert again.returncode == 2
    assert again.stderr.strip() == f"{folder}: already exists and is not empty: choose a new folder"
