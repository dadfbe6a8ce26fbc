"""movement-break reminders

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 13:34:32.772478
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "breakday",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "day"),
    )
    op.create_table(
        "reminderplan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("days", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("offset_seconds", sa.Integer(), nullable=False),
        sa.Column("next_due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("summary_due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("paused_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("prompt_seq", sa.Integer(), nullable=False),
        sa.Column("last_prompt", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("last_prompt_on", sa.Date(), nullable=True),
        sa.Column("last_interaction_on", sa.Date(), nullable=True),
        sa.Column("unanswered_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    with op.batch_alter_table("reminderplan", schema=None) as batch_op:
        batch_op.create_index("ix_reminderplan_due", ["status", "next_due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reminderplan_summary_due_at"), ["summary_due_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reminderplan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminderplan_summary_due_at"))
        batch_op.drop_index("ix_reminderplan_due")

    op.drop_table("reminderplan")
    op.drop_table("breakday")
