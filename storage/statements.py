"""Counting the database statements each update costs, for the benchmarks (bench/screening.py).

Off unless the environment sets BMX_STATEMENT_LOG to a file path (the benchmarks do, for the
bot process they start). Then every statement sent on the bot's engine is counted, by verb and
table ("SELECT client", "INSERT answer"), against the update being handled (`bot.processor`
opens a tally per update; the tally follows the update into the database threads, whose work
runs in a copy of the caller's context) or, outside any update, against background work (jobs,
reminders, start-up); so are transactions (one COMMIT or ROLLBACK each) and the pings of a
pooled connection that sat idle (`storage.db`). At exit the tallies go to that file as JSON:
`{"updates": [{"chat": id, "statements": {...}, "transactions": n}, ...], "background": ...}`,
the updates in the order they finished (a chat's updates finish in the order they came,
so the benchmark can tell its n-th action in a chat from the n-th update there).

A file written at exit rather than a Prometheus counter: the benchmark wants each update's
figures on their own (to say which kind of update costs what), and the bot's HTTP server,
where /metrics lives, runs only when HTTP_LISTEN or a webhook asks for it. Counting costs a
dictionary update per statement; nothing at all when off.
"""

from __future__ import annotations

import atexit
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

ENV = "BMX_STATEMENT_LOG"
PING = "SELECT 1 (ping)"
TRANSACTIONS = "transactions"
_PATH = os.environ.get(ENV) or None
ENABLED = _PATH is not None

_current: ContextVar[Counter[str] | None] = ContextVar("statement_tally", default=None)
_background: Counter[str] = Counter()
_updates: list[dict[str, Any]] = []
_TABLE = r"\s+\"?(\w+)\"?"
_TOP_LEVEL_TABLES = re.compile(r"\b(?:FROM|JOIN)" + _TABLE, re.IGNORECASE)
_TARGET = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)" + _TABLE, re.IGNORECASE)
_NESTED = re.compile(r"\([^()]*\)")
_names: dict[str, str | None] = {}  # statement text -> "VERB table" (None: not counted)


def name_of(statement: str) -> str | None:
    """What a statement is, for the tally: its verb and table ("INSERT answer", "UPDATE
    client"), a SELECT with its top-level tables ("SELECT client+screening FOR UPDATE"; a
    subquery's are left out). None for BEGIN and COMMIT (SQLite's own; PostgreSQL's are
    implicit): transactions are counted apart, once each, on both."""
    if statement in _names:
        return _names[statement]
    words = statement.split(None, 1)
    verb = words[0].upper() if words else ""
    name: str | None = verb
    if verb in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", ""):
        name = None
    elif verb == "SELECT":
        flat = statement
        while _NESTED.search(flat):
            flat = _NESTED.sub("", flat)
        tables = "+".join(dict.fromkeys(_TOP_LEVEL_TABLES.findall(flat)))
        name = f"SELECT {tables}".strip()
        if re.search(r"\bFOR\s+UPDATE\b", flat, re.IGNORECASE):
            name += " FOR UPDATE"
    elif (target := _TARGET.match(statement)) is not None:
        name = f"{verb} {target.group(1)}"
        if re.search(r"\bON\s+CONFLICT\b", statement, re.IGNORECASE):
            name += " ON CONFLICT"
    _names[statement] = name
    return name


def count(name: str) -> None:
    tally = _current.get()
    (_background if tally is None else tally)[name] += 1


def count_on(engine: Engine) -> None:
    """Count the statements and transactions on this engine (`storage.db` calls it when
    ENABLED)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        name = name_of(statement)
        if name is not None:
            count(name)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _transaction(_conn) -> None:  # type: ignore[no-untyped-def]
        count(TRANSACTIONS)


@contextmanager
def for_update(chat: int | None) -> Iterator[None]:
    """Count what runs inside the block (one update's handling) on its own."""
    if not ENABLED:
        yield
        return
    tally: Counter[str] = Counter()
    token = _current.set(tally)
    try:
        yield
    finally:
        _current.reset(token)
        transactions = tally.pop(TRANSACTIONS, 0)
        _updates.append({"chat": chat, "statements": dict(tally), "transactions": transactions})


def _dump() -> None:
    assert _PATH is not None
    background = dict(_background)
    transactions = background.pop(TRANSACTIONS, 0)
    data = {
        "updates": _updates,
        "background": {"statements": background, "transactions": transactions},
    }
    Path(_PATH).write_text(json.dumps(data))


if ENABLED:
    atexit.register(_dump)
