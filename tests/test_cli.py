"""`bmx-bot` as the person deploying the bot meets it: real processes, real exit codes."""

from __future__ import annotations

import asyncio
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Awaitable
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.users import SimUser
from dialogs.clinic import PACK
from dialogs.emergency import load_phrases
from dialogs.questionnaire import load_questionnaire
from dialogs.render import TEMPLATES
from dialogs.tips import load_tips
from storage.db import alembic_config
from tests.content import content_folder, line_of, shipped
from tests.flows import bot_process, clean_env, ready

GOOD_TOKEN = "7654321:well-formed-but-unknown-token-0000"


def bmx(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    """The error is one line, and nothing else is said (no traceback, no log)."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def last_clear_line(stderr: str) -> str:
    """The error is one line at the end; the log before it (at INFO) holds no error."""
    assert "Traceback" not in stderr and " ERROR " not in stderr, stderr
    return stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["run", "--help"],
        ["sandbox", "--help"],
        ["db", "upgrade", "--help"],
        ["check", "--help"],
    ],
)
def test_help_on_each_command(tmp_path: Path, args: list[str]) -> None:
    result = bmx(tmp_path, *args)
    assert result.returncode == 0
    assert "usage: bmx-bot" in result.stdout


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN"),
        ({"STAFF_IDS": "123, abc"}, "STAFF_IDS"),
        ({"STAFF_CHAT_ID": "staff"}, "STAFF_CHAT_ID"),
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"CONTENT_DIR": "no/such/folder"}, "CONTENT_DIR"),
        ({"RETENTION_DAYS": "0"}, "RETENTION_DAYS"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"BOT_API_URL": "ftp://x"}, "BOT_API_URL"),
        ({"REMINDER_INTERVAL": "every hour"}, "REMINDER_INTERVAL"),
        ({"REMINDER_INTERVAL": "3d"}, "REMINDER_INTERVAL"),
    ],
)
def test_a_wrong_setting_stops_with_one_line_naming_it(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result = bmx(tmp_path, "run", **env)
    assert result.returncode == 2
    line = one_clear_line(result)
    assert line.startswith(f"Configuration error: {named}")
    assert "not-a-token" not in line


def test_settings_are_read_from_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("STAFF_IDS=1,2,x\n")
    result = bmx(tmp_path, "check")
    assert result.returncode == 2
    assert "STAFF_IDS" in one_clear_line(result)


def test_run_without_a_token_says_so(tmp_path: Path) -> None:
    result = bmx(tmp_path, "run")
    assert result.returncode == 2
    assert "BOT_TOKEN is not set" in one_clear_line(result)


def test_check_and_db_commands(tmp_path: Path) -> None:
    checked = bmx(tmp_path, "check")
    assert checked.returncode == 0
    assert checked.stderr == "", "nothing in this machine's environment looks like a setting"
    q = load_questionnaire()
    assert (
        f"questionnaire version {q.version}: {len(q.questions)} questions (6 red-flag gate); "
        f"{len(load_tips())} ready tips; {load_phrases().phrase_count} emergency phrases"
    ) in checked.stdout
    url = f"sqlite:///{tmp_path / 'x' / 'bmx.db'}"
    assert bmx(tmp_path, "db", "current", DATABASE_URL=url).stdout.strip() == "none"
    upgraded = bmx(tmp_path, "db", "upgrade", DATABASE_URL=url)
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert upgraded.returncode == 0 and f"revision {head}" in upgraded.stdout
    assert bmx(tmp_path, "db", "current", DATABASE_URL=url).stdout.strip() == head


def test_every_mistake_in_the_content_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    """A clinic's folder with a broken questionnaire, a fourth service without a booking page,
    a service the questionnaire names but the clinic lacks, and a template with a missing
    `</b>`: `bmx-bot check` names each one (file, line, field) and exits 2; nothing else."""
    services = shipped("clinic.yaml")["services"]
    services["yoga"] = {"name": "Yoga", "line": "Stretching."}
    del services["laser"]
    welcome = (TEMPLATES / "welcome.j2").read_text().replace("syndrome</b>", "syndrome", 1)
    folder = content_folder(
        tmp_path / "northside",
        clinic={"services": services},
        templates={"welcome.j2": welcome},
    )
    result = bmx(tmp_path, "check", CONTENT_DIR=str(folder))
    assert result.returncode == 2
    head, *problems = result.stderr.strip().splitlines()
    assert head == f"Content error in {folder}:"
    clinic, questionnaire = folder / "clinic.yaml", PACK / "questionnaire.yaml"
    assert problems == [
        f"  {clinic}:{line_of(clinic, '  yoga:') + 1}: services.yoga.booking_page: Field required"
    ], "the questionnaire is checked against the services once clinic.yaml is right"
    services["yoga"]["booking_page"] = "https://northside.example/book/yoga"
    content_folder(folder, clinic={"services": services})
    result = bmx(tmp_path, "check", CONTENT_DIR=str(folder))
    assert result.stderr.strip().splitlines()[1:] == [
        f"  {questionnaire}:{line_of(questionnaire, '  - service: laser')}: recommend: unknown "
        "service 'laser'",
    ], "the templates are rendered once the data is right"
    services["laser"] = {"name": "Laser", "line": "Light.", "booking_page": "https://x.example/l"}
    content_folder(folder, clinic={"services": services})
    result = bmx(tmp_path, "check", CONTENT_DIR=str(folder))
    assert result.returncode == 2
    line = line_of(folder / "templates" / "welcome.j2", "{% trans called=clinic.called %}If your")
    assert result.stderr.strip().splitlines()[1:] == [
        f"  {folder / 'templates' / 'welcome.j2'}:{line}: Telegram would refuse the message: "
        'Can\'t find end tag corresponding to start tag "b"'
    ]
    (folder / "questionnaire.yaml").write_text("version: 1\nquestions: []\n")
    result = bmx(tmp_path, "check", "--content", str(folder))
    assert f"  {folder / 'questionnaire.yaml'}:1: signs: Field required" in result.stderr


def test_unreachable_database_and_api(tmp_path: Path) -> None:
    no_db = bmx(
        tmp_path,
        "run",
        BOT_TOKEN=GOOD_TOKEN,
        DATABASE_URL="postgresql+psycopg://nobody:secret@127.0.0.1:1/none",
    )
    assert no_db.returncode == 1
    line = last_clear_line(no_db.stderr)
    assert line.startswith(
        "Cannot use the database at postgresql+psycopg://nobody:***@127.0.0.1:1/none"
    )
    assert "secret" not in line

    no_api = bmx(
        tmp_path,
        "run",
        BOT_TOKEN=GOOD_TOKEN,
        BOT_API_URL="http://127.0.0.1:1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'b.db'}",
    )
    assert no_api.returncode == 1
    line = last_clear_line(no_api.stderr)
    assert line.startswith("Cannot reach the Bot API at http://127.0.0.1:1")
    assert GOOD_TOKEN not in no_api.stderr


async def test_a_rejected_token_and_a_real_run(tmp_path: Path, emulator: BotApiEmulator) -> None:
    def start(token: str, **more: str) -> Awaitable[asyncio.subprocess.Process]:
        return bot_process(
            tmp_path,
            capture=True,
            BOT_TOKEN=token,
            BOT_API_URL=emulator.base_url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
            **more,
        )

    refused = await start(GOOD_TOKEN)
    _, err = await asyncio.wait_for(refused.communicate(), 60)
    assert refused.returncode == 2
    assert last_clear_line(err.decode()) == (
        "Telegram refused BOT_TOKEN (Unauthorized): check the token from @BotFather"
    )
    assert [(e.method, e.code) for e in emulator.errors] == [("getMe", 401)]
    emulator.errors.clear()

    # A setting the bot does not know: a warning in the log, and the bot runs all the same.
    running = await start(emulator.token, CLINIC_NAME="BodyMechanix")
    alice = SimUser(emulator, 5001, "Alice")
    await alice.send("/start")
    await alice.expect("Before the self-check", timeout=30)
    running.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(running.communicate(), 30)
    assert running.returncode == 0, err.decode()
    assert (
        "WARNING bot.cli: CLINIC_NAME in the environment is ignored: the clinic's facts are in "
        "its content folder now (CONTENT_DIR): set `name` in clinic.yaml" in err.decode()
    )
    assert emulator.token not in err.decode()
    assert "Traceback" not in err.decode()


async def test_a_first_run_makes_a_database_only_its_user_can_open(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """`bmx-bot run` in a fresh checkout: the default sqlite:///var/bmx.db, var/ made by the
    bot (0700) and every file SQLite and the bot keep there 0600."""
    running = await bot_process(tmp_path, BOT_TOKEN=emulator.token, BOT_API_URL=emulator.base_url)
    try:
        await ready(emulator)
        alice = SimUser(emulator, 5002, "Alice")
        await alice.send("/start")
        await alice.expect("Before the self-check", timeout=30)
        var = tmp_path / "var"
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in var.iterdir()}
        assert stat.S_IMODE(var.stat().st_mode) == 0o700
        # SQLite's -wal and -shm come and go with its connections; whenever they exist, they
        # are the user's only, like the database and the locks that always do.
        always = {"bmx.db", "bmx.db.polling.lock", "bmx.db.bulk.lock"}
        assert always <= modes.keys() <= always | {"bmx.db-wal", "bmx.db-shm"}
        assert set(modes.values()) == {0o600}
    finally:
        running.send_signal(signal.SIGTERM)
        await asyncio.wait_for(running.wait(), 30)
    assert running.returncode == 0


async def test_a_second_polling_process_on_one_database_refuses_to_start(
    tmp_path: Path, emulator: BotApiEmulator, database_url: str
) -> None:
    """Two long-polling processes would fight over getUpdates: the second one stops at once
    with one clear line (SQLite and PostgreSQL alike) and the first carries on."""

    def start() -> Awaitable[asyncio.subprocess.Process]:
        return bot_process(
            tmp_path,
            capture=True,
            BOT_TOKEN=emulator.token,
            BOT_API_URL=emulator.base_url,
            DATABASE_URL=database_url,
        )

    first = await start()
    try:
        await ready(emulator)
        second = await start()
        _, err = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 3
        assert last_clear_line(err.decode()).startswith(
            "Another bot process is already taking updates from this database"
        )
        alice = SimUser(emulator, 5002, "Alice")
        await alice.send("/start")
        await alice.expect("Before the self-check", timeout=30)
    finally:
        first.send_signal(signal.SIGTERM)
        await asyncio.wait_for(first.communicate(), 30)
    assert first.returncode == 0


async def test_an_http_port_in_use_is_named_as_such(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """Another program has HTTP_LISTEN's port: one line naming the setting, exit code 2 (it
    used to read as a database trouble)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await bot_process(
            tmp_path,
            capture=True,
            BOT_TOKEN=emulator.token,
            BOT_API_URL=emulator.base_url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
            HTTP_LISTEN=f"127.0.0.1:{port}",
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert last_clear_line(err.decode()) == (
        f"Cannot listen on HTTP_LISTEN=127.0.0.1:{port}: Address already in use"
    )
