"""Setting errors from issue 9: each wrong value stops the bot with one line naming the setting
and the problem; the right values (and the forms people copy from elsewhere) pass."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from bot.settings import ConfigError, Settings, load_settings
from storage.db import Database, upgrade
from tests.test_cli import bmx, one_clear_line


@pytest.fixture(autouse=True)
def _no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test passes counts: no .env, no BOT_API_URL or SEND_RATE from outside."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def settings(**values: object) -> Settings:
    return load_settings(_env_file=None, **values)


SECRET = "a-Secret_1" + "0123456789abcdef" * 2  # WEBHOOK_SECRET: 32 characters or more
SECRET_RULE = "32 to 256 characters, only A-Z, a-z, 0-9, _ and - (e.g. openssl rand -hex 32)"


def refusal(**values: object) -> str:
    with pytest.raises(ConfigError) as caught:
        settings(**values)
    return str(caught.value)


# 1. DATABASE_URL: postgres:// and postgresql:// as hosting platforms give them.


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://user@host/db", "postgresql+psycopg://user@host/db"),
        ("postgresql://user@host/db", "postgresql+psycopg://user@host/db"),
        ("PostgreSQL://user@host/db", "postgresql+psycopg://user@host/db"),
        (
            "postgres://bmx:p%40ss:w%2Frd@db.internal:5432/bmx?sslmode=require",
            "postgresql+psycopg://bmx:p%40ss:w%2Frd@db.internal:5432/bmx?sslmode=require",
        ),
        ("postgres+psycopg://user@host/db", "postgresql+psycopg://user@host/db"),
        ("postgresql+psycopg://user@host/db", "postgresql+psycopg://user@host/db"),
        (" postgresql+psycopg://user@host/db ", "postgresql+psycopg://user@host/db"),
    ],
)
def test_postgres_urls_without_a_driver_mean_psycopg(given: str, used: str) -> None:
    assert settings(database_url=given).database_url == used


def test_other_databases_and_broken_urls_are_refused() -> None:
    assert refusal(database_url="mysql://db/x") == (
        "Configuration error: DATABASE_URL: must point to SQLite or PostgreSQL (e.g. "
        "sqlite:///var/bmx.db or postgresql+psycopg://user@host/db)"
    )
    assert refusal(database_url="postgres://user@host:port/db") == (
        "Configuration error: DATABASE_URL: is not a database URL (e.g. sqlite:///var/bmx.db or "
        "postgresql+psycopg://user@host/db)"
    )


# 2. STAFF_IDS: the wrong entry is named.


@pytest.mark.parametrize(
    ("given", "wrong"), [("123, abc", "abc"), ("1,2,x", "x"), ("123, 4.5", "4.5"), ("1 2", "1 2")]
)
def test_a_staff_id_that_is_not_a_number_is_named(given: str, wrong: str) -> None:
    assert refusal(staff_ids=given) == (
        f"Configuration error: STAFF_IDS: '{wrong}' is not a Telegram user id (a whole number)"
    )


def test_a_group_id_in_staff_ids_is_named() -> None:
    assert refusal(staff_ids="123, -1001234567890") == (
        "Configuration error: STAFF_IDS: '-1001234567890' is not a Telegram user id (user ids "
        "are above 0; negative ids are groups, such as STAFF_CHAT_ID)"
    )


def test_a_long_wrong_entry_is_shortened() -> None:
    line = refusal(staff_ids="1," + "y" * 500)
    assert "'" + "y" * 40 + "...'" in line and "y" * 41 not in line


@pytest.mark.parametrize(
    ("given", "ids"),
    [("123, 456", [123, 456]), (" 123 ,456 , ", [123, 456]), ("", []), ("7", [7])],
)
def test_staff_ids_with_spaces_around_commas_pass(given: str, ids: list[int]) -> None:
    assert settings(staff_ids=given).staff_ids == ids


# 3. SEND_RATE: Telegram's budget for a bot is about 30 messages a second.

TOO_FAST = (
    "Configuration error: SEND_RATE: must be above 0 and at most 30 messages a second "
    "(Telegram lets a bot send about 30 a second)"
)


@pytest.mark.parametrize("rate", ["1000", "31", "30.5", "0", "-1", "nan", "inf"])
def test_a_send_rate_telegram_would_refuse_is_refused(rate: str) -> None:
    assert refusal(send_rate=rate) == TOO_FAST


@pytest.mark.parametrize("rate", ["30", "1", "0.5", "12.5"])
def test_a_send_rate_within_telegrams_budget_passes(rate: str) -> None:
    assert settings(send_rate=rate).send_rate == float(rate)


def test_a_bot_api_on_this_machine_may_get_a_higher_rate() -> None:
    """The emulator (benchmarks run it with SEND_RATE=1000) is not bound by Telegram."""
    local = "http://127.0.0.1:8081"
    assert settings(bot_api_url=local, send_rate="1000").send_rate == 1000
    assert refusal(bot_api_url=local, send_rate="1001") == (
        "Configuration error: SEND_RATE: must be above 0 and at most 1000 messages a second"
    )
    assert refusal(bot_api_url="https://api.telegram.org", send_rate="1000") == TOO_FAST


# 4. DATABASE_URL: a SQLite file's missing folder is created only inside the working directory.


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory, and beside it a folder outside it."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    outside = tmp_path / "outside"
    outside.mkdir()
    return outside


def test_a_missing_folder_outside_the_working_directory_is_refused(elsewhere: Path) -> None:
    folder = elsewhere / "missing" / "dir"
    url = f"sqlite:///{folder / 'x.db'}"
    assert refusal(database_url=url) == (
        f"Configuration error: DATABASE_URL: the folder {folder} does not exist: create it "
        "first (only a folder inside the working directory, such as var/, is created "
        "automatically)"
    )
    with pytest.raises(OSError, match="does not exist: create it first"):
        upgrade(url)
    with pytest.raises(OSError, match="does not exist: create it first"):
        Database(url)
    assert not (elsewhere / "missing").exists()


def test_the_nonexistent_folder_of_issue_9_is_refused() -> None:
    line = refusal(database_url="sqlite:////nonexistent/dir/x.db")
    assert line.startswith("Configuration error: DATABASE_URL: the folder /nonexistent/dir ")
    assert not Path("/nonexistent").exists()


def test_a_file_where_the_folder_should_be_is_refused(elsewhere: Path) -> None:
    (elsewhere / "file").write_text("")
    assert refusal(database_url=f"sqlite:///{elsewhere / 'file' / 'x.db'}") == (
        f"Configuration error: DATABASE_URL: {elsewhere / 'file'} is not a folder (the SQLite "
        "file must go in a folder)"
    )


def test_an_existing_folder_anywhere_passes(elsewhere: Path) -> None:
    url = f"sqlite:///{elsewhere / 'x.db'}"
    assert settings(database_url=url).database_url == url


def test_missing_folders_inside_the_working_directory_are_created(elsewhere: Path) -> None:
    """The default var/bmx.db and the sandbox's var/sandbox.db, relative or absolute."""
    work = Path.cwd()
    assert settings().database_url == "sqlite:///var/bmx.db"
    assert not (work / "var").exists()  # checking the settings creates nothing
    upgrade("sqlite:///var/bmx.db")
    assert (work / "var" / "bmx.db").is_file()
    absolute = f"sqlite:///{work / 'a' / 'b' / 'bmx.db'}"
    assert settings(database_url=absolute).database_url == absolute
    upgrade(absolute)
    assert (work / "a" / "b" / "bmx.db").is_file()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_is_for_the_bots_user_only(elsewhere: Path) -> None:
    """Folders the bot makes are 0700; the database and its -wal and -shm files 0600 (SQLite
    alone would make them 0644, readable by everyone on the machine)."""
    work = Path.cwd()
    url = f"sqlite:///{work / 'a' / 'b' / 'bmx.db'}"
    upgrade(url)
    database = Database(url)
    try:
        with database.session() as session:  # a write: SQLite opens its -wal and -shm
            session.connection().exec_driver_sql("CREATE TABLE probe (x INTEGER)")
        files = [work / "a" / "b" / name for name in ("bmx.db", "bmx.db-wal", "bmx.db-shm")]
        assert {path.name: mode(path) for path in files} == dict.fromkeys(
            ("bmx.db", "bmx.db-wal", "bmx.db-shm"), 0o600
        )
    finally:
        database.engine.dispose()
    assert (mode(work / "a"), mode(work / "a" / "b")) == (0o700, 0o700)
    assert bmx(work, "check", DATABASE_URL=url).stderr == ""  # nothing to warn about


def test_an_existing_database_others_can_read_is_warned_about(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    sqlite3.connect(database).close()
    database.chmod(0o644)
    result = bmx(tmp_path, "check", DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 0
    assert result.stderr == (
        f"Warning: DATABASE_URL: {database} can be opened by other users of this machine "
        f"(mode 0644): chmod 600 {database}\n"
    )
    assert "settings OK" in result.stdout


def test_memory_and_postgres_databases_have_no_folder(elsewhere: Path) -> None:
    for url in ("sqlite://", "sqlite:///:memory:", "postgresql+psycopg://u@host/db"):
        assert settings(database_url=url).database_url == url


# 5. BOT_API_URL: the token travels in every request, so plain http only to this machine.


def test_plain_http_to_a_remote_host_is_refused() -> None:
    assert refusal(bot_api_url="http://remote.example") == (
        "Configuration error: BOT_API_URL: plain http:// to remote.example would send the bot "
        "token unencrypted: use https:// (http:// is allowed only for this machine: localhost, "
        "127.0.0.1 or ::1)"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8081",
        "http://127.0.0.1.evil.example",
        "http://localhost.evil.example",
        "http://evil.example/127.0.0.1",
        "http://127.0.0.1@evil.example",
        "http://[::2]:8081",
    ],
)
def test_remote_hosts_that_look_local_are_refused(url: str) -> None:
    assert refusal(bot_api_url=url).startswith(
        "Configuration error: BOT_API_URL: plain http:// to "
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://api.telegram.org",
        "https://bot-api.example:8443/",
        "http://127.0.0.1:8081",
        "http://127.5.0.1",
        "http://localhost:8081",
        "http://LOCALHOST",
        "http://[::1]:8081",
    ],
)
def test_https_anywhere_and_http_on_this_machine_pass(url: str) -> None:
    assert settings(bot_api_url=url).bot_api_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["ftp://x", "https://", "http://127.0.0.1:port", "http://[::1", "api.org", "http://a b"]
)
def test_what_is_not_an_http_url_is_still_refused(url: str) -> None:
    assert refusal(bot_api_url=url) == (
        "Configuration error: BOT_API_URL: must be an http(s) URL such as https://api.telegram.org"
    )


# End to end: `bmx-bot check` (and `db upgrade`) as the person deploying the bot meets them.


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"STAFF_IDS": "123, abc"},
            "Configuration error: STAFF_IDS: 'abc' is not a Telegram user id (a whole number)",
        ),
        ({"SEND_RATE": "1000"}, TOO_FAST),
        (
            {"DATABASE_URL": "sqlite:////nonexistent/dir/x.db"},
            "Configuration error: DATABASE_URL: the folder /nonexistent/dir does not exist: "
            "create it first (only a folder inside the working directory, such as var/, is "
            "created automatically)",
        ),
        (
            {"BOT_API_URL": "http://remote.example"},
            "Configuration error: BOT_API_URL: plain http:// to remote.example would send the "
            "bot token unencrypted: use https:// (http:// is allowed only for this machine: "
            "localhost, 127.0.0.1 or ::1)",
        ),
        (
            {"WEBHOOK_URL": "https://bot.clinic.example/telegram", "WEBHOOK_SECRET": "s"},
            f"Configuration error: WEBHOOK_SECRET: must be {SECRET_RULE}",
        ),
        (
            {"METRICS_TOKEN": "short"},
            "Configuration error: METRICS_TOKEN: must be 32 to 256 characters, only A-Z, a-z, "
            "0-9 and -._~+/ (e.g. openssl rand -hex 32)",
        ),
    ],
)
def test_check_stops_with_one_line_and_exit_code_2(
    tmp_path: Path, env: dict[str, str], line: str
) -> None:
    result = bmx(tmp_path, "check", **env)
    assert result.returncode == 2
    assert one_clear_line(result) == line
    assert result.stdout == ""


def warnings(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What `bmx-bot check` warned about: it still says the settings are OK, exit code 0."""
    assert result.returncode == 0, result.stderr
    assert "settings OK" in result.stdout
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()


def test_check_warns_about_a_staff_chat_id_that_is_a_person(tmp_path: Path) -> None:
    result = bmx(tmp_path, "check", STAFF_CHAT_ID="123456789", STAFF_IDS="123456789")
    assert warnings(result) == [
        "Warning: STAFF_CHAT_ID is above 0, so it is a person's private chat with the bot, "
        "not a group (group ids are negative): hand-offs would go to that one person (/id in "
        "the staff group gives its id)"
    ]


def test_check_warns_about_a_staff_group_nobody_can_answer_in(tmp_path: Path) -> None:
    result = bmx(tmp_path, "check", STAFF_CHAT_ID="-1001234567890")
    assert warnings(result) == [
        "Warning: STAFF_CHAT_ID is set but STAFF_IDS is empty: hand-offs reach the staff "
        "group, but nobody there can answer a client (only STAFF_IDS may; /id in a private "
        "chat with the bot gives each person's id)"
    ]
    assert bmx(tmp_path, "check", STAFF_CHAT_ID="-100123", STAFF_IDS="5").stderr == ""


def test_check_names_each_unknown_setting_and_nothing_else(tmp_path: Path) -> None:
    """Every key of .env that is not a setting; from the environment, the names that look
    like ours (a setting's first word, or almost a setting's name), not PATH or HTTP_PROXY."""
    (tmp_path / ".env").write_text(
        "CLINIC_NAME=BodyMechanix\nSTAFF_ID=123\nBOT_TOKEN=\nCOLOUR=blue\n"
    )
    result = bmx(
        tmp_path,
        "check",
        BOOKING_URL_YOGA="https://bodymechanix.example/book/yoga",
        DATABASE_URI="sqlite:///var/other.db",
        HTTP_PROXY="http://proxy.internal:3128",
        DATABASE_PASSWORD="someone else's",
        LC_ALL="C.UTF-8",
    )
    assert sorted(warnings(result)) == [
        "Warning: BOOKING_URL_YOGA in the environment is ignored: the clinic's facts are in its "
        "content folder now (CONTENT_DIR): set `services: yoga: booking_page` in clinic.yaml "
        "(bmx-bot content init DIR writes one)",
        "Warning: CLINIC_NAME in .env is ignored: the clinic's facts are in its content folder "
        "now (CONTENT_DIR): set `name` in clinic.yaml (bmx-bot content init DIR writes one)",
        "Warning: COLOUR in .env is not a setting, so it is ignored (the settings are listed "
        "in .env.example)",
        "Warning: DATABASE_URI in the environment is not a setting, so it is ignored (did you "
        "mean DATABASE_URL?)",
        "Warning: STAFF_ID in .env is not a setting, so it is ignored (did you mean STAFF_IDS?)",
    ]


def test_a_wrong_setting_still_stops_without_warnings(tmp_path: Path) -> None:
    result = bmx(tmp_path, "check", CLINIC_NAME="x", STAFF_CHAT_ID="1", STAFF_IDS="abc")
    assert result.returncode == 2
    assert one_clear_line(result).startswith("Configuration error: STAFF_IDS:")


def test_check_accepts_a_heroku_style_postgres_url(tmp_path: Path) -> None:
    result = bmx(tmp_path, "check", DATABASE_URL="postgres://bmx:secret@db.internal/bmx")
    assert result.returncode == 0, result.stderr
    assert "settings OK" in result.stdout


def test_db_upgrade_refuses_a_missing_folder_outside_and_creates_none(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    url = f"sqlite:///{tmp_path / 'missing' / 'bmx.db'}"
    result = bmx(work, "db", "upgrade", DATABASE_URL=url)
    assert result.returncode == 2
    assert one_clear_line(result).startswith(
        f"Configuration error: DATABASE_URL: the folder {tmp_path / 'missing'} does not exist"
    )
    assert not (tmp_path / "missing").exists()


# Webhook mode (issue 10): each wrong value is named; a right set gives the listen address.


@pytest.mark.parametrize(
    ("values", "line"),
    [
        (
            {"webhook_url": "https://bot.clinic.example/telegram"},
            f"WEBHOOK_SECRET: WEBHOOK_URL needs WEBHOOK_SECRET ({SECRET_RULE})",
        ),
        (
            {"webhook_url": "http://bot.clinic.example/telegram", "webhook_secret": SECRET},
            "WEBHOOK_URL: Telegram posts updates only to https:// URLs",
        ),
        ({"webhook_url": "bot.clinic.example", "webhook_secret": SECRET}, "WEBHOOK_URL: must be"),
        (
            {"webhook_url": "https://bot.clinic.example/tg", "webhook_secret": "has space" * 4},
            f"WEBHOOK_SECRET: must be {SECRET_RULE}",
        ),
        (
            {"webhook_url": "https://bot.clinic.example/tg", "webhook_secret": SECRET[:31]},
            f"WEBHOOK_SECRET: must be {SECRET_RULE}",
        ),
        ({"webhook_secret": "x"}, f"WEBHOOK_SECRET: must be {SECRET_RULE}"),
        ({"metrics_token": "m" * 31}, "METRICS_TOKEN: must be 32 to 256 characters"),
        ({"metrics_token": "m" * 31 + " "}, "METRICS_TOKEN: must be 32 to 256 characters"),
        ({"http_listen": "8080"}, "HTTP_LISTEN: must be host:port"),
        ({"http_listen": "0.0.0.0:99999"}, "HTTP_LISTEN: must be host:port"),
        ({"webhook_max_connections": "0"}, "WEBHOOK_MAX_CONNECTIONS:"),
    ],
)
def test_webhook_settings_errors_name_the_setting(values: dict[str, str], line: str) -> None:
    assert refusal(**values).startswith(f"Configuration error: {line}")


def test_webhook_settings_that_work() -> None:
    webhook = settings(webhook_url="https://bot.clinic.example/telegram", webhook_secret=SECRET)
    assert webhook.listen == ("127.0.0.1", 8080)  # this machine only, unless told otherwise
    assert settings(http_listen="127.0.0.1:9000").listen == ("127.0.0.1", 9000)
    assert settings(http_listen="0.0.0.0:8080").listen == ("0.0.0.0", 8080)
    assert settings().listen is None  # long polling without an HTTP server
    assert settings(webhook_url="http://127.0.0.1:8443/tg", webhook_secret=SECRET).webhook_url
    assert settings(webhook_secret="a" * 256).webhook_secret is not None
    token = settings(metrics_token="Zm9vYmFy" * 4 + "==").metrics_token
    assert token is not None and token.get_secret_value().endswith("==")
    assert settings(metrics_token="").metrics_token is None


def test_a_weak_webhook_secret_stops_the_bot_at_start(tmp_path: Path) -> None:
    """`bmx-bot run` says the same one line as `check`, exit code 2, before anything else."""
    result = bmx(
        tmp_path,
        "run",
        BOT_TOKEN="123456789:" + "A" * 35,
        WEBHOOK_URL="https://bot.clinic.example/telegram",
        WEBHOOK_SECRET="a-Secret_1",
    )
    assert result.returncode == 2
    assert one_clear_line(result) == f"Configuration error: WEBHOOK_SECRET: must be {SECRET_RULE}"
