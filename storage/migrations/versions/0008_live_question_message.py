"""one live copy of the current question

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 22:55:00.000000

The id of the message that carries the current screening question's buttons: when the
question is asked again below, the older copy is edited so that its buttons go.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("client") as batch:
        batch.add_column(sa.Column("question_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("client") as batch:
        batch.drop_column("question_message_id")
