"""broadcast history outlives a client's /delete; tip numbers never reused

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 16:45:00.000000

A delivery's client and chat become NULL when the client is erased (they were deleted with
the client, which rewrote "sent 1 of 1" as "sent 0 of 0"); on SQLite the broadcast table gets
AUTOINCREMENT so a dropped draft's number is not handed out again (PostgreSQL's sequences
never reuse one). SQLite cannot alter a foreign key, so there the tables are rebuilt.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DELIVERY_COLUMNS = "id, broadcast_id, client_id, chat_id, status, message_id, reason, updated_at"
_BROADCAST_COLUMNS = (
    "id, staff_id, status, template, photo, segment, scheduled_at, started_at, finished_at,"
    " status_message_id, created_at"
)


def _delivery_table(name: str, on_client_delete: str, nullable: bool) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=nullable),
        sa.Column("chat_id", sa.BigInteger(), nullable=nullable),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcast.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], ondelete=on_client_delete),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("broadcast_id", "client_id"),
    )


def _broadcast_table(name: str, autoincrement: bool) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("template", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("photo", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
        sa.Column("segment", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("scheduled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("status_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=autoincrement,
    )


def _indexes() -> None:
    op.create_index("ix_broadcast_status_at", "broadcast", ["status", "scheduled_at"])
    op.create_index("ix_delivery_broadcast_status", "delivery", ["broadcast_id", "status"])
    op.create_index("ix_delivery_client_id", "delivery", ["client_id"])


def _rebuild_sqlite(*, keep_history: bool) -> None:
    """Copy both tables into new ones of the wanted shape (SQLite alters little in place).
    Alembic's connection does not enforce SQLite foreign keys (storage/migrations/env.py),
    so dropping the old tables cascades nothing into the copies."""
    _broadcast_table("_broadcast_new", autoincrement=keep_history)
    columns = _BROADCAST_COLUMNS
    op.execute(f"INSERT INTO _broadcast_new ({columns}) SELECT {columns} FROM broadcast")
    _delivery_table(
        "_delivery_new", "SET NULL" if keep_history else "CASCADE", nullable=keep_history
    )
    kept = "" if keep_history else " WHERE client_id IS NOT NULL"
    op.execute(
        f"INSERT INTO _delivery_new ({_DELIVERY_COLUMNS}) SELECT {_DELIVERY_COLUMNS} FROM delivery"
        + kept
    )
    op.drop_table("delivery")
    op.drop_table("broadcast")
    op.rename_table("_broadcast_new", "broadcast")
    op.rename_table("_delivery_new", "delivery")
    _indexes()


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(keep_history=True)
        return
    op.alter_column("delivery", "client_id", nullable=True)
    op.alter_column("delivery", "chat_id", nullable=True)
    op.drop_constraint("delivery_client_id_fkey", "delivery", type_="foreignkey")
    op.create_foreign_key(
        "delivery_client_id_fkey", "delivery", "client", ["client_id"], ["id"], ondelete="SET NULL"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(keep_history=False)
        return
    op.execute("DELETE FROM delivery WHERE client_id IS NULL")
    op.drop_constraint("delivery_client_id_fkey", "delivery", type_="foreignkey")
    op.create_foreign_key(
        "delivery_client_id_fkey", "delivery", "client", ["client_id"], ["id"], ondelete="CASCADE"
    )
    op.alter_column("delivery", "chat_id", nullable=False)
    op.alter_column("delivery", "client_id", nullable=False)
