"""the staff hand-off inbox (who took a request, when it was closed, alerts)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 00:30:00.000000

When a request reached the clinic (`sent_at`), who took it from /inbox and when, when it was
closed, and when the "waited too long" alert went to the staff chat (claimed once); one
reply from /inbox in the making per staff member (a partial unique index).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_handoff_kind_status"
REPLY_INDEX = "ux_handoff_reply"


def upgrade() -> None:
    with op.batch_alter_table("handoff") as batch:
        batch.add_column(sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("taken_by", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("taken_by_name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True)
        )
        batch.add_column(sa.Column("taken_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("alerted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch.create_index(INDEX, ["kind", "status"])
    reply_only = sa.text("kind = 'reply'")
    op.create_index(
        REPLY_INDEX,
        "handoff",
        ["taken_by"],
        unique=True,
        sqlite_where=reply_only,
        postgresql_where=reply_only,
    )
    # Requests sent before this revision reached the clinic about when they were asked; they
    # are not alerted about now (the team has seen them in the group already). The inbox
    # lists only open conversations (`storage.repo.open_handoff`: the request or a staff
    # reply within the last week), so older ones stay out of it without a change here.
    op.execute(
        "UPDATE handoff SET sent_at = created_at, alerted_at = created_at "
        "WHERE kind = 'request' AND status IN ('sent', 'closed')"
    )


def downgrade() -> None:
    op.drop_index(REPLY_INDEX, "handoff")
    with op.batch_alter_table("handoff") as batch:
        batch.drop_index(INDEX)
        batch.drop_column("alerted_at")
        batch.drop_column("closed_at")
        batch.drop_column("taken_at")
        batch.drop_column("taken_by_name")
        batch.drop_column("taken_by")
        batch.drop_column("sent_at")
