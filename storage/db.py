"""Engine, sessions and migrations for DATABASE_URL (SQLite by default, PostgreSQL in production).

The bot is asyncio, so it talks to the database through SQLAlchemy's asyncio layer
(aiosqlite / psycopg 3). Alembic runs with the plain synchronous driver of the same URL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def sync_url(database_url: str) -> URL:
    """The URL for synchronous drivers (Alembic): sqlite3 or psycopg."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite")
    return url.set(drivername="postgresql+psycopg")


def async_url(database_url: str) -> URL:
    """The URL for asyncio drivers: aiosqlite or psycopg (which does both)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    return url.set(drivername="postgresql+psycopg")


def _ensure_sqlite_folder(url: URL) -> None:
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys (for cascading deletes), waits instead of 'database is locked',
    and BEGIN IMMEDIATE so a read transaction never fails when it turns into a write."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine per process; `session()` is one transaction."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        url = async_url(database_url)
        _ensure_sqlite_folder(url)
        if url.get_backend_name() == "sqlite":
            # One connection: updates queue for it in order instead of SQLite's busy-wait
            # sleeps, which would add tens of milliseconds under load.
            self.engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
            _tune_sqlite(self.engine)
        else:
            self.engine = create_async_engine(
                url, pool_size=10, max_overflow=10, pool_pre_ping=True
            )
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration (Alembic runs synchronously)."""
        await asyncio.to_thread(upgrade, self.url)

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    url = sync_url(database_url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser escaping
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`; creates the SQLite file and folder when needed."""
    _ensure_sqlite_folder(make_url(database_url))
    before = current_revision(database_url)
    command.upgrade(alembic_config(database_url), revision)
    after = current_revision(database_url)
    if after != before:
        log.info("database schema upgraded from %s to %s", before or "empty", after)


def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None for an empty (or missing) database."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return None
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
