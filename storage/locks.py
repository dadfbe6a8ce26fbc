"""Locks a bot process holds for as long as it runs, released however it ends.

- `POLLING`: only one process may take updates by long polling from one database (a second
  would fight the first over getUpdates and both would answer nothing reliably). With SQLite
  it is also "one process per database file", whatever the mode.
- `BULK`: one process at a time sends reminders and tips, so that all replicas together keep
  to the one bot token's budget; if it dies, another takes over (`bot.leader`).

PostgreSQL: a session-level advisory lock on a connection of its own (it goes with that
connection: a kill -9 or a database restart ends it). SQLite: `flock` on a file beside the
database, which the kernel releases when the process ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO, Literal

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from storage.db import connect_args, prepare_sqlite_file, sync_url

LockName = Literal["polling", "bulk"]
POLLING: LockName = "polling"
BULK: LockName = "bulk"
_KEYS = {POLLING: 0x424D5801, BULK: 0x424D5802}  # "BMX" and a number (advisory lock keys)


class ProcessLock:
    """Held by at most one process at a time."""

    def __init__(self, database_url: str, name: LockName) -> None:
        self.name = name
        url = self._url = sync_url(database_url)
        self._path: Path | None = None
        self._engine = None
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                self._path = Path(url.database).with_name(f"{Path(url.database).name}.{name}.lock")
        else:
            self._engine = create_engine(
                url, poolclass=NullPool, hide_parameters=True, connect_args=connect_args(url)
            )
        self._connection: Connection | None = None
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        """Take it if nobody holds it (blocking: call from a thread). False if taken; raises
        SQLAlchemyError if the database cannot be reached."""
        if self._engine is None:
            return self._acquire_file()
        # A database that does not answer raises: that is not "someone else holds it".
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            # Keyed by the schema too: one database may hold several bots' schemas (the tests').
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key, hashtext(current_schema()))"),
                {"key": _KEYS[self.name]},
            ).scalar()
        except SQLAlchemyError:
            got = False
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def held(self) -> bool:
        """Still ours? On PostgreSQL the lock goes with its connection, which a database
        restart or a network fault breaks."""
        if self._engine is None:
            return self._file is not None or self._path is None
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            self.release()
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.close()  # closing the session ends its advisory locks
            self._connection = None
        if self._file is not None:
            self._file.close()  # closing the file drops the flock
            self._file = None
        if self._engine is not None:
            self._engine.dispose()

    def _acquire_file(self) -> bool:
        if self._path is None:
            return True  # an in-memory database belongs to this process anyway
        prepare_sqlite_file(self._url)  # taken before the migrations create the folder
        handle = os.fdopen(os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True
