"""`bmx-bot`: run the bot, try it in the sandbox, manage the database, check the content.

Every failure a person deploying the bot can cause (a wrong setting, a rejected token, an
unreachable database or Bot API, a broken questionnaire) ends with one clear line on stderr
and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from telegram.error import BadRequest, InvalidToken, NetworkError

from bot.logs import _TOKEN_RE, setup_logging
from bot.settings import ConfigError, Settings, load_settings, setup_warnings
from dialogs.content import Content, content_of, write_copy
from dialogs.content import warnings as content_warnings
from dialogs.content_file import ContentError

T = TypeVar("T")
log = logging.getLogger(__name__)
EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 1
EXIT_BUSY = 3  # another bot process already runs on this database


class Fatal(Exception):
    """Stop with this one line and exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command is _content_init:  # before any settings: CONTENT_DIR may be this one
            init: Callable[[argparse.Namespace], int] = args.command
            return init(args)
        settings = load_settings()
        setup_logging(settings.log_level, settings.token)
        command: Callable[[Settings, argparse.Namespace], int] = args.command
        return command(settings, args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except Fatal as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bmx-bot",
        description="The BodyMechanix Telegram assistant. Without a command: 'run' when "
        "BOT_TOKEN is set, else 'sandbox'. Settings come from the environment and .env "
        "(see .env.example).",
    )
    parser.set_defaults(command=_auto)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser(
        "run", help="run the bot against Telegram (needs BOT_TOKEN)", description=_doc(_run)
    )
    run.set_defaults(command=_run)

    sandbox = commands.add_parser(
        "sandbox",
        help="try the whole bot offline: a local Bot API and a terminal chat",
        description=_doc(_sandbox),
    )
    sandbox.add_argument("--name", default="Alex", help="your first name in the chat")
    sandbox.add_argument("--user-id", type=int, default=1001, help="your Telegram user id")
    sandbox.add_argument(
        "--no-flood-limits", action="store_true", help="turn off the emulator's flood control"
    )
    sandbox.set_defaults(command=_sandbox)

    db = commands.add_parser("db", help="database schema (Alembic migrations)")
    db_commands = db.add_subparsers(title="db commands", metavar="DB_COMMAND", required=True)
    db_upgrade = db_commands.add_parser(
        "upgrade", help="apply all migrations to DATABASE_URL", description=_doc(_db_upgrade)
    )
    db_upgrade.set_defaults(command=_db_upgrade)
    db_current = db_commands.add_parser(
        "current", help="show the schema revision of DATABASE_URL", description=_doc(_db_current)
    )
    db_current.set_defaults(command=_db_current)

    check = commands.add_parser(
        "check", help="validate the settings and the clinic's content", description=_doc(_check)
    )
    check.add_argument(
        "--content", metavar="DIR", help="check this content folder instead of CONTENT_DIR"
    )
    check.set_defaults(command=_check)

    content = commands.add_parser("content", help="the clinic's content folder")
    content_commands = content.add_subparsers(
        title="content commands", metavar="CONTENT_COMMAND", required=True
    )
    init = content_commands.add_parser(
        "init", help="write a copy of the shipped content to edit", description=_doc(_content_init)
    )
    init.add_argument("dir", metavar="DIR", help="a new (or empty) folder")
    init.set_defaults(command=_content_init)
    return parser


def _doc(function: Callable[..., object]) -> str:
    return (function.__doc__ or "").strip()


def _auto(settings: Settings, args: argparse.Namespace) -> int:
    if settings.token:
        return _run(settings, args)
    print("BOT_TOKEN is not set: starting the offline sandbox instead.", file=sys.stderr)
    args.name, args.user_id, args.no_flood_limits = "Alex", 1001, False
    return _sandbox(settings, args)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the bot against the Bot API at BOT_API_URL (Telegram by default) by long polling,
    until Ctrl+C or SIGTERM. Applies database migrations first."""
    from bot.runner import serve

    if not settings.token:
        raise Fatal(
            "Configuration error: BOT_TOKEN is not set (get one from @BotFather, or try "
            "'bmx-bot sandbox' without one)",
            EXIT_CONFIG,
        )
    content = _load_content(settings.content_dir)
    for warning in [*setup_warnings(settings), *content_warnings(content)]:
        log.warning(warning)
    # The garbage collector took about a seventh of the CPU under load (bench/screening.py):
    # what is loaded by now (modules, content) lives as long as the process, so frozen it is
    # no longer scanned by every full pass; and a larger first generation lets the many
    # short-lived objects of an update die before a pass, instead of being promoted.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    _guarded(lambda: asyncio.run(serve(settings, content)), settings)
    return 0


def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    """Start a local Bot API emulator, run the real bot against it (same handlers and
    database), and chat with it in this terminal. No token or network needed."""
    from bot.sandbox.chat import run_sandbox

    _load_content(settings.content_dir)
    _guarded(
        lambda: asyncio.run(
            run_sandbox(
                settings,
                name=args.name,
                user_id=args.user_id,
                flood_limits=not args.no_flood_limits,
            )
        ),
        settings,
    )
    return 0


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    """Create or upgrade the schema of DATABASE_URL to the newest migration."""
    from storage.db import current_revision, upgrade

    _guarded(lambda: upgrade(settings.database_url), settings)
    print(f"database at revision {current_revision(settings.database_url)}")
    return 0


def _db_current(settings: Settings, args: argparse.Namespace) -> int:
    """Print the migration revision DATABASE_URL is at ('none' for an empty database)."""
    from storage.db import current_revision

    revision = _guarded(lambda: current_revision(settings.database_url), settings)
    print(revision or "none")
    return 0


def _check(settings: Settings, args: argparse.Namespace) -> int:
    """Check the settings and the whole content folder (CONTENT_DIR, or --content): every
    file's fields, and every template rendered with sample data as Telegram would read it.
    Each mistake is printed with its file and line (exit code 2). What is probably wrong
    but would still run is printed as warnings (exit code 0)."""
    folder = Path(args.content) if args.content else settings.content_dir
    content = _load_content(folder)
    for warning in [*setup_warnings(settings), *content_warnings(content)]:
        print(f"Warning: {warning}", file=sys.stderr)
    q, clinic = content.questionnaire, content.clinic
    print(
        f"settings OK; content OK ({folder or 'the shipped example'}): {clinic.name}, "
        f"{len(clinic.services)} services; questionnaire version {q.version}: "
        f"{len(q.questions)} questions ({q.gate_count} red-flag gate); "
        f"{len(content.tips)} ready tips; {content.phrases.phrase_count} emergency phrases"
    )
    return 0


def _content_init(args: argparse.Namespace) -> int:
    """Write a complete, commented copy of the shipped content (the example clinic) into
    DIR, to edit into the clinic's own; then point CONTENT_DIR at it and run 'bmx-bot check'."""
    folder = Path(args.dir)
    try:
        written = write_copy(folder)
    except ContentError as exc:
        raise Fatal(str(exc), EXIT_CONFIG) from None
    print(f"wrote {', '.join(written)} to {folder}")
    print(
        f"Next: edit {folder / 'clinic.yaml'} (the clinic's name, hours, services...), set "
        f"CONTENT_DIR={folder} and run 'bmx-bot check'. To change a message, copy its "
        f"template from the project's dialogs/templates into {folder / 'templates'}."
    )
    return 0


def _load_content(folder: Path | None) -> Content:
    """The clinic's content, or every mistake in it on stderr (exit code 2)."""
    try:
        return content_of(folder)
    except ContentError as exc:
        where = folder or "the shipped content"
        lines = "\n".join(f"  {problem}" for problem in exc.problems)
        raise Fatal(f"Content error in {where}:\n{lines}", EXIT_CONFIG) from None


def _guarded(action: Callable[[], T], settings: Settings) -> T:
    """Run `action`, turning the failures a deployment meets into one clear line."""
    from bot.http_server import ListenError
    from bot.runner import AlreadyRunning

    try:
        return action()
    except AlreadyRunning as exc:
        raise Fatal(str(exc), EXIT_BUSY) from None
    except ListenError as exc:
        raise Fatal(str(exc), EXIT_CONFIG) from None
    except InvalidToken:
        raise Fatal(
            "Telegram refused BOT_TOKEN (Unauthorized): check the token from @BotFather",
            EXIT_CONFIG,
        ) from None
    except BadRequest as exc:  # PTB counts it as a NetworkError; it is not one
        raise Fatal(
            f"The Bot API at {settings.bot_api_url} refused a request: {exc.message}",
            EXIT_UNAVAILABLE,
        ) from None
    except NetworkError as exc:
        reason = _TOKEN_RE.sub("<BOT_TOKEN>", str(exc))
        raise Fatal(
            f"Cannot reach the Bot API at {settings.bot_api_url}: {reason}", EXIT_UNAVAILABLE
        ) from None
    except (SQLAlchemyError, OSError) as exc:
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise Fatal(f"Cannot use the database at {where}: {reason}", EXIT_UNAVAILABLE) from None


if __name__ == "__main__":
    sys.exit(main())
