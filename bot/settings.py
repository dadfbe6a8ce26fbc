"""Configuration from the environment and `.env`, validated once at start.

Every setting is listed with a comment in `.env.example`. A missing or malformed setting stops
the bot with one line naming it (see `load_settings`), never a traceback.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.db import sqlite_folder_problem, sqlite_mode_problem

_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
# BotFather tokens look like "123456789:AA...": digits, a colon, then 30+ url-safe characters.
_TOKEN_RE = re.compile(r"^\d{5,12}:[A-Za-z0-9_-]{30,}$")
# Heroku-style postgres:// and a driverless postgresql:// mean the project's driver, psycopg 3.
_POSTGRES_SCHEME_RE = re.compile(r"^postgres(?:ql)?://", re.IGNORECASE)
_POSTGRES_ALIAS_RE = re.compile(r"^postgres\+", re.IGNORECASE)
_USER_ID_RE = re.compile(r"^-?[0-9]+$")
# Telegram allows 1 to 256 of these characters in a webhook's secret_token; anything shorter
# than 32 (a 1-character secret was accepted once) could be guessed by whoever finds the URL.
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{32,256}$")
_SECRET_RULE = "32 to 256 characters, only A-Z, a-z, 0-9, _ and - (e.g. openssl rand -hex 32)"
# A bearer token (RFC 6750's characters), long enough not to be guessed.
_METRICS_TOKEN_RE = re.compile(r"^[A-Za-z0-9._~+/-]{32,256}=*$")
DEFAULT_LISTEN = "127.0.0.1:8080"
# Telegram lets a bot send about 30 messages a second in all. A Bot API on this machine (the
# emulator, for benchmarks) may be given more; a local telegram-bot-api server still forwards
# to Telegram, whose 429 answers the bot obeys anyway.
TELEGRAM_SEND_RATE = 30
LOCAL_SEND_RATE = 1000


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and is safe to print."""


class Settings(BaseSettings):
    """All settings of the bot. Field names are the environment variable names."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    bot_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite:///var/bmx.db"
    staff_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    staff_chat_id: int | None = None
    # The clinic's content folder: its name, hours, services, questionnaire... (dialogs/
    # content.py). None: the example clinic shipped in the project.
    content_dir: Path | None = None
    handoff_alert_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    log_level: str = "INFO"
    retention_days: int = Field(default=730, ge=1, le=36500)
    send_rate: float = float(TELEGRAM_SEND_RATE)
    reminder_interval: timedelta = timedelta(hours=1)
    # Webhook mode (production with replicas): Telegram posts updates to WEBHOOK_URL, which a
    # reverse proxy with TLS forwards to HTTP_LISTEN. Without WEBHOOK_URL: long polling.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    # Where the bot's HTTP server (webhook, /healthz, /readyz, /metrics) listens: host:port.
    # Default in webhook mode 127.0.0.1:8080 (this machine only); in polling mode none unless set.
    http_listen: str | None = None
    # The bearer token for /metrics and the details of /readyz from another machine (on this
    # one they need none). Without it, other machines get neither.
    metrics_token: SecretStr | None = None

    @field_validator(
        "bot_token",
        "staff_chat_id",
        "content_dir",
        "webhook_url",
        "webhook_secret",
        "http_listen",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN_RE.match(value.get_secret_value().strip()):
            # Never echo the value: it may be a real token with a typo.
            raise ValueError("does not look like a token from @BotFather (digits:letters)")
        return value

    @field_validator("bot_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        scheme, host = _scheme_and_host(value)
        if scheme not in ("http", "https") or not host:
            raise ValueError("must be an http(s) URL such as https://api.telegram.org")
        if scheme == "http" and not _is_loopback(host):
            raise ValueError(
                f"plain http:// to {host} would send the bot token unencrypted: use https:// "
                "(http:// is allowed only for this machine: localhost, 127.0.0.1 or ::1)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = _POSTGRES_SCHEME_RE.sub("postgresql+psycopg://", value.strip(), count=1)
        value = _POSTGRES_ALIAS_RE.sub("postgresql+", value, count=1)
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            raise ValueError(
                "is not a database URL (e.g. sqlite:///var/bmx.db or "
                "postgresql+psycopg://user@host/db)"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                "must point to SQLite or PostgreSQL (e.g. sqlite:///var/bmx.db or "
                "postgresql+psycopg://user@host/db)"
            )
        problem = sqlite_folder_problem(url)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("staff_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """Comma-separated user ids, spaces allowed; a wrong entry is named."""
        if not isinstance(value, str):
            return value
        ids = []
        for part in (part.strip() for part in value.split(",")):
            if not part:
                continue
            shown = repr(part if len(part) <= 40 else part[:40] + "...")
            if not _USER_ID_RE.match(part):
                raise ValueError(f"{shown} is not a Telegram user id (a whole number)")
            if int(part) <= 0:
                raise ValueError(
                    f"{shown} is not a Telegram user id (user ids are above 0; negative "
                    "ids are groups, such as STAFF_CHAT_ID)"
                )
            ids.append(int(part))
        return ids

    @field_validator("send_rate")
    @classmethod
    def _send_rate(cls, value: float, info: ValidationInfo) -> float:
        # bot_api_url is validated before (field order); if it failed, its error comes first.
        if _is_loopback(urlsplit(info.data.get("bot_api_url", "")).hostname):
            if not 0 < value <= LOCAL_SEND_RATE:
                raise ValueError(f"must be above 0 and at most {LOCAL_SEND_RATE} messages a second")
            return value
        if not 0 < value <= TELEGRAM_SEND_RATE:
            raise ValueError(
                f"must be above 0 and at most {TELEGRAM_SEND_RATE} messages a second "
                f"(Telegram lets a bot send about {TELEGRAM_SEND_RATE} a second)"
            )
        return value

    @field_validator("content_dir")
    @classmethod
    def _content_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value} is not a folder (bmx-bot content init {value} makes one)")
        return value

    @field_validator("reminder_interval", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        """Durations as people write them: 1h, 45m, 30s, 1h30m. (Hand-written: pydantic reads
        only seconds or ISO 8601 such as PT1H, which nobody types.)"""
        if not isinstance(value, str):
            return value
        if not value.strip():
            return timedelta(hours=1)
        match = _DURATION_RE.match(value.strip().lower())
        if match is None or not any(match.groups()):
            raise ValueError("must be a duration such as 1h, 45m or 30s")
        hours, minutes, seconds = (int(part or 0) for part in match.groups())
        duration = timedelta(hours=hours, minutes=minutes, seconds=seconds)
        if not timedelta(seconds=1) <= duration <= timedelta(hours=24):
            raise ValueError("must be between 1s and 24h")
        return duration

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        scheme, host = _scheme_and_host(value)
        if scheme not in ("http", "https") or not host:
            raise ValueError("must be the https:// URL Telegram posts updates to")
        if scheme == "http" and not _is_loopback(host):
            raise ValueError(
                "Telegram posts updates only to https:// URLs (http:// is allowed only for "
                "this machine, for the sandbox and tests)"
            )
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Never echo the value (nor its length): it is a secret, even when it is a weak one.
        if value is not None and not _SECRET_RE.match(value.get_secret_value()):
            raise ValueError(f"must be {_SECRET_RULE}")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _METRICS_TOKEN_RE.match(value.get_secret_value()):
            raise ValueError(
                "must be 32 to 256 characters, only A-Z, a-z, 0-9 and -._~+/ "
                "(e.g. openssl rand -hex 32)"
            )
        return value

    @field_validator("http_listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _, colon, port = value.strip().rpartition(":")
        if not colon or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port, such as 127.0.0.1:8080 or 0.0.0.0:8080")
        return value.strip()

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError(
                f"WEBHOOK_URL needs WEBHOOK_SECRET ({_SECRET_RULE}): Telegram sends it with "
                "each update, so nobody else can post fake ones"
            )
        return self

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @property
    def listen(self) -> tuple[str, int] | None:
        """Where the HTTP server listens (None: no server, long polling without one)."""
        listen = self.http_listen or (DEFAULT_LISTEN if self.webhook_url else None)
        if listen is None:
            return None
        host, _, port = listen.rpartition(":")
        return host.strip("[]") or "0.0.0.0", int(port)

    @property
    def token(self) -> str | None:
        return self.bot_token.get_secret_value().strip() if self.bot_token else None


def _scheme_and_host(url: str) -> tuple[str, str | None]:
    """The URL's scheme and host; ("", None) if it is malformed (spaces, a broken [IPv6]
    address, a port that is not a number)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number
    except ValueError:
        return "", None
    if re.search(r"\s", url):
        return "", None
    return parts.scheme, parts.hostname


def _is_loopback(host: str | None) -> bool:
    """Whether `host` (as urlsplit gives it) is this machine: localhost, 127.0.0.0/8, ::1."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def setup_warnings(settings: Settings, environ: Mapping[str, str] = os.environ) -> list[str]:
    """What is probably wrong in a setup that still runs, one line each: `bmx-bot check`
    prints them and `bmx-bot run` logs them at start, and neither stops."""
    found = [sqlite_mode_problem(make_url(settings.database_url))]
    if settings.staff_chat_id is not None and settings.staff_chat_id > 0:
        # Not refused: a one-person clinic may want hand-offs in its own private chat (the
        # replies work there too); but a user id pasted in by mistake is the likelier case.
        found.append(
            "STAFF_CHAT_ID is above 0, so it is a person's private chat with the bot, not a "
            "group (group ids are negative): hand-offs would go to that one person (/id in "
            "the staff group gives its id)"
        )
    if settings.staff_chat_id is not None and not settings.staff_ids:
        found.append(
            "STAFF_CHAT_ID is set but STAFF_IDS is empty: hand-offs reach the staff group, "
            "but nobody there can answer a client (only STAFF_IDS may; /id in a private chat "
            "with the bot gives each person's id)"
        )
    return [line for line in found if line is not None] + _unknown_settings(environ)


# The first words of the settings' names (BOT_, STAFF_, CLINIC_...), but for those other
# programs use too (HTTP_PROXY, another program's DATABASE_URL...): an environment variable
# that starts with one, or is named almost like a setting, is probably meant for this bot.
_SHARED_WORDS = ("HTTP_", "DATABASE_", "LOG_")
_SETTINGS = tuple(name.upper() for name in Settings.model_fields)
_OUR_PREFIXES = tuple({name.split("_")[0] + "_" for name in _SETTINGS} - set(_SHARED_WORDS))
_CLOSE = 0.8  # difflib's ratio: STAFF_ID and DATABASE_URI are close; HTTPS_PROXY is not


def _unknown_settings(environ: Mapping[str, str]) -> list[str]:
    """Names that look like settings but are none, so the bot ignores them: every key of
    .env, and the environment variables that look like ours."""
    lines = []
    env_file = Path(str(Settings.model_config.get("env_file")))
    in_file = dotenv_values(env_file) if env_file.is_file() else {}
    for name in in_file:
        if name.upper() not in _SETTINGS:
            lines.append(_ignored(name, "in .env"))
    for name in sorted(environ):
        upper = name.upper()
        if upper in _SETTINGS or name in in_file:
            continue
        if upper.startswith(_OUR_PREFIXES) or _moved(upper) or _closest(upper):
            lines.append(_ignored(name, "in the environment"))
    return lines


def _closest(name: str) -> str | None:
    close = difflib.get_close_matches(name.upper(), _SETTINGS, 1, _CLOSE)
    return close[0] if close else None


# Settings that became the clinic's content: set in clinic.yaml now.
_MOVED = {
    "CLINIC_NAME": "name",
    "CLINIC_TIMEZONE": "timezone",
    "CLINIC_HOURS": "hours",
    "CLINIC_HOLIDAYS": "holidays",
    "CLINIC_WEBSITE": "website",
}  # and each BOOKING_URL_<SERVICE>: `_moved`


def _moved(name: str) -> str | None:
    """Where in clinic.yaml an old setting's value goes now, if it is one."""
    upper = name.upper()
    if upper.startswith("BOOKING_URL_"):
        return f"services: {upper.removeprefix('BOOKING_URL_').lower()}: booking_page"
    return _MOVED.get(upper)


def _ignored(name: str, where: str) -> str:
    moved = _moved(name)
    if moved is not None:
        return (
            f"{name} {where} is ignored: the clinic's facts are in its content folder now "
            f"(CONTENT_DIR): set `{moved}` in clinic.yaml (bmx-bot content init DIR writes one)"
        )
    close = _closest(name)
    hint = f"did you mean {close}?" if close else "the settings are listed in .env.example"
    return f"{name} {where} is not a setting, so it is ignored ({hint})"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a validation error into one readable `ConfigError` line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "WEBHOOK_SECRET"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"Configuration error: {name}: {message}") from None
