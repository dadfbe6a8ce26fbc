"""Alembic environment: runs migrations with the synchronous driver of DATABASE_URL."""

from alembic import context
from sqlalchemy import create_engine, pool, text
from sqlmodel import SQLModel

from storage import models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


MIGRATION_LOCK = 0x424D5800  # "BMX" 0: the advisory lock key for migrations


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None, "storage.db.alembic_config names the database"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite needs table rebuilds for ALTERs
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas starting together would run the same migrations at once: the
                # first takes this lock, the others wait and then find nothing left to do.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
                    {"key": MIGRATION_LOCK},
                )
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
