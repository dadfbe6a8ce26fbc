"""hand-off requests: what the client agreed to share, and in which staff chat

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:19:54.444144
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_handoff_screening_id_screening"


def upgrade() -> None:
    with op.batch_alter_table("handoff", schema=None) as batch_op:
        # Rows from before were posts already in the staff chat.
        batch_op.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="request",
            )
        )
        batch_op.add_column(
            sa.Column(
                "status",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="sent",
            )
        )
        batch_op.add_column(sa.Column("screening_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("staff_chat_id", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(
            FOREIGN_KEY, "screening", ["screening_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("handoff", schema=None) as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_="foreignkey")
        batch_op.drop_column("staff_chat_id")
        batch_op.drop_column("screening_id")
        batch_op.drop_column("status")
        batch_op.drop_column("kind")
