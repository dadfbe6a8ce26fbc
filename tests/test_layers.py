"""The layers of docs/layers.md hold: handlers never touch the database, the dialogs never touch
Telegram, the database or the bot, and imports go one way."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# What handlers may take from storage: the rows' types, and how to tell an outage.
TYPES_ONLY = ("storage.models.", "storage.repo.TelegramUser", "storage.db.is_outage")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_no_handler_touches_the_database() -> None:
    found = []
    for path in _files("bot/handlers"):
        tree = ast.parse(path.read_text())
        found += [
            f"{path.name}:{node.lineno} .db"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "db"
        ]
        found += [
            f"{path.name}: imports {name}"
            for name in _imports(path)
            if name.split(".")[0] in ("sqlmodel", "sqlalchemy", "storage")
            and not name.startswith(TYPES_ONLY)
        ]
    assert not found, "use cases (bot/cases) load and store; handlers only deliver"


def test_the_dialogs_know_nothing_of_telegram_the_database_or_the_bot() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _files("dialogs")
        for name in _imports(path)
        if name.split(".")[0] in ("telegram", "sqlmodel", "sqlalchemy", "storage", "bot")
    ]
    assert not found


def test_storage_and_use_cases_never_import_the_handlers() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for folder in ("storage", "bot/cases")
        for path in _files(folder)
        for name in _imports(path)
        if name.startswith(("bot.handlers", "bot.app", "bot.modes", "bot.presses"))
        or (folder == "storage" and name.split(".")[0] in ("bot", "telegram"))
    ]
    assert not found
