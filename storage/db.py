"""Engine, transactions and migrations for DATABASE_URL (SQLite by default, PostgreSQL too).

The bot is asyncio, but its database work is plain synchronous SQLModel code: each update's
whole transaction is one function, `await db.run(work)`. Measured with bench/screening.py:
- SQLAlchemy's asyncio bridge crosses into a driver thread for every statement: about 4 ms of
  CPU per button press on SQLite, against under 1 ms for the same transaction run plainly;
- on PostgreSQL, statements wait on the network, so transactions run on a small pool of
  threads and the event loop keeps serving others meanwhile. That hand-off is the dearest part
  of the database work there: run inline instead (tried, not kept), the bot spent about 1.1 ms
  less CPU per update and its server backends 0.25 ms less, but then one statement waiting on
  a slow or unreachable server would stop the bot for every chat. Two threads were slower than
  four, eight or sixteen no faster;
- on SQLite (a local file, WAL, no fsync per commit) a transaction is under a millisecond of
  CPU; a thread buys no parallelism under the GIL and its hand-offs cost more than the work,
  so it runs inline, one at a time, which also keeps SQLite's writers in order. (The price: if
  another process holds SQLite's write lock, the bot waits for it; production uses PostgreSQL.)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlmodel import Session, SQLModel, create_engine

from storage import statements

MIGRATIONS = Path(__file__).parent / "migrations"
POSTGRES_THREADS = 4  # more threads only add GIL contention (bench/screening.py --postgres)
CONNECT_TIMEOUT = 5  # seconds
STATEMENT_TIMEOUT_MS = 15_000  # no statement of the bot's takes near this; a stuck one fails
PING_IDLE_SECONDS = 1.0  # a pooled connection unused this long is checked before use
log = logging.getLogger(__name__)
T = TypeVar("T")
UpsertInsert = postgresql.Insert | sqlite.Insert  # an INSERT with ON CONFLICT


def sync_url(database_url: str) -> URL:
    """The URL with the synchronous driver: sqlite3 or psycopg."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite")
    return url.set(drivername="postgresql+psycopg")


def upsert_insert(session: Session) -> Callable[[Table | type[SQLModel]], UpsertInsert]:
    """The dialect's own `insert` (PostgreSQL's or SQLite's), which has ON CONFLICT."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def is_outage(error: BaseException | None) -> bool:
    """The database is away or too slow (a lost connection, a refused one, a statement
    timeout), as opposed to a fault in the bot's own queries, which deserves a traceback."""
    if not isinstance(error, DBAPIError):
        return False
    return error.connection_invalidated or isinstance(error.orig, psycopg.OperationalError)


def connect_args(url: URL) -> dict[str, object]:
    """PostgreSQL connection settings so that a database host that stops answering fails
    calls within seconds instead of blocking every database thread for minutes: a connect
    timeout, TCP keepalives, and a statement timeout (added to any `options` in the URL)."""
    given = url.query.get("options", "")
    given = given if isinstance(given, str) else " ".join(given)
    return {
        "connect_timeout": CONNECT_TIMEOUT,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "options": f"{given} -c statement_timeout={STATEMENT_TIMEOUT_MS}".strip(),
    }


def _sqlite_folder(url: URL) -> Path | None:
    """The folder of a SQLite file; None for PostgreSQL, in-memory and `file:` URI databases."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):  # an SQLite URI (?uri=true): SQLite reads it itself
        return None
    return Path(url.database).parent


def sqlite_folder_problem(url: URL) -> str | None:
    """Why the folder of a SQLite file cannot be used, or None if it exists or will be made.

    The rule: a missing folder inside the working directory (the default var/bmx.db, the
    sandbox's var/sandbox.db) is created; a missing folder anywhere else is refused, since
    it is more likely a typo or an unmounted volume than a place anyone meant to create.
    """
    folder = _sqlite_folder(url)
    if folder is None or folder.is_dir():
        return None
    if folder.exists():
        return f"{folder} is not a folder (the SQLite file must go in a folder)"
    if folder.resolve().is_relative_to(Path.cwd().resolve()):
        return None
    return (
        f"the folder {folder} does not exist: create it first (only a folder inside the "
        "working directory, such as var/, is created automatically)"
    )


def prepare_sqlite_file(url: URL) -> None:
    """Before SQLite opens a file: create its missing folders (where `sqlite_folder_problem`
    allows it) readable by this user only (0700), and a missing database file empty and 0600.
    SQLite creates a new file 0644, readable by everyone on the machine, and gives its -wal,
    -shm and -journal files the database file's mode: so those are 0600 too."""
    problem = sqlite_folder_problem(url)
    if problem is not None:
        raise OSError(problem)
    folder = _sqlite_folder(url)
    if folder is None:
        return
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(str(url.database), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def sqlite_mode_problem(url: URL) -> str | None:
    """Which of a SQLite database's existing files other users of this machine may open (a
    file made before the bot made them 0600, or copied in), or None."""
    if _sqlite_folder(url) is None:
        return None
    database = str(url.database)
    loose = []
    for path in (Path(database + suffix) for suffix in ("", "-wal", "-shm", "-journal")):
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                loose.append((path, mode))
    if not loose:
        return None
    names = " ".join(str(path) for path, _ in loose)
    return (
        f"DATABASE_URL: {names} can be opened by other users of this machine "
        f"(mode {loose[0][1]:04o}): chmod 600 {names}"
    )


def _tune_sqlite(engine: Engine, begin: str = "BEGIN IMMEDIATE") -> None:
    """WAL, foreign keys (for cascading deletes), waiting instead of 'database is locked',
    and BEGIN IMMEDIATE so a read transaction never fails when it turns into a write (a
    reader's engine, which never writes, begins plainly: WAL readers take no lock)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has been idle a while.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip per transaction, about
    a fifth of a button press's CPU on PostgreSQL (bench/screening.py). A connection in use a
    moment ago cannot have missed a database restart (a restart takes longer than
    PING_IDLE_SECONDS); one that sat idle might have, so it is pinged with the dialect's own
    ping, and a dead one is replaced (a `DisconnectionError` from a checkout listener makes
    the pool connect anew, as pre-ping does). A connection that dies while busy fails its
    transaction either way; SQLAlchemy then invalidates the whole pool."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(
        dbapi_connection: DBAPIConnection,
        record: ConnectionPoolEntry,
        _proxy: PoolProxiedConnection,
    ) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        if statements.ENABLED:
            statements.count(statements.PING)
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the pooled connection is gone") from exc


class Database:
    """One engine per process. `await run(work)` is one transaction (see the module notes).
    `hide_parameters`: errors and SQL logging never carry bound values (names, answers, typed
    text) into a log, where /delete and retention cannot reach them."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.on_transaction: Callable[[float], None] = lambda _seconds: None  # metrics hook
        url = sync_url(database_url)
        prepare_sqlite_file(url)
        if url.get_backend_name() == "sqlite":
            self.engine = create_engine(url, pool_size=1, max_overflow=0, hide_parameters=True)
            _tune_sqlite(self.engine)
            self._executor = None
            # Long staff reads (/stats) on a connection of their own, in a worker thread.
            self._reader = create_engine(url, pool_size=1, max_overflow=0, hide_parameters=True)
            _tune_sqlite(self._reader, begin="BEGIN")
        else:
            self.engine = create_engine(
                url,
                pool_size=POSTGRES_THREADS,
                max_overflow=0,
                hide_parameters=True,
                connect_args=connect_args(url),
            )
            _ping_when_idle(self.engine)
            self._executor = ThreadPoolExecutor(POSTGRES_THREADS, thread_name_prefix="db")
            self._reader = self.engine
        if statements.ENABLED:  # for the benchmarks (BMX_STATEMENT_LOG)
            statements.count_on(self.engine)
            if self._reader is not self.engine:
                statements.count_on(self._reader)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error.
        Blocking: the bot goes through `run`; scripts may use it directly."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` as one transaction and return its result (rows stay readable
        after the transaction, detached)."""
        if self._executor is None:
            return self._transaction(work)
        loop = asyncio.get_running_loop()
        # In the caller's context, as `asyncio.to_thread` does (the statement tally follows).
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._executor, context.run, self._transaction, work)

    def _transaction(self, work: Callable[[Session], T]) -> T:
        started = time.perf_counter()
        try:
            with self.session() as session:
                return work(session)
        finally:
            self.on_transaction(time.perf_counter() - started)

    async def read(self, work: Callable[[Session], T]) -> T:
        """Run a long read-only `work(session)` (a staff report over many rows) so that the
        event loop keeps answering everyone else: on PostgreSQL as `run` does; on SQLite, in
        a worker thread on a reading connection of its own (WAL: the writer and this reader
        never wait for each other; sqlite3 lets go of the GIL while a query runs)."""
        if self._executor is not None:
            return await self.run(work)

        def transaction() -> T:
            with Session(self._reader, expire_on_commit=False) as session, session.begin():
                return work(session)

        return await asyncio.to_thread(transaction)

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        await asyncio.to_thread(upgrade, self.url)

    async def dispose(self) -> None:
        if self._executor is not None:
            await asyncio.to_thread(self._executor.shutdown)
        self.engine.dispose()
        self._reader.dispose()


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    url = sync_url(database_url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser escaping
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`; creates the SQLite file, and its folder when
    `sqlite_folder_problem` allows it (`prepare_sqlite_file`)."""
    prepare_sqlite_file(make_url(database_url))
    before = current_revision(database_url)
    command.upgrade(alembic_config(database_url), revision)
    after = current_revision(database_url)
    if after != before:
        log.info("database schema upgraded from %s to %s", before or "empty", after)


def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None for an empty (or missing) database."""
    from alembic.runtime.migration import MigrationContext

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return None
    engine = create_engine(sync_url(database_url), hide_parameters=True)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
