"""safety status per client

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("client") as batch:
        batch.add_column(
            sa.Column("safety_tier", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True)
        )
        batch.add_column(
            sa.Column("safety_symptom", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch.add_column(sa.Column("safety_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("safety_cleared_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    # Red-flag exits from before this revision still hold their clients: the latest finished
    # screening of each client that ended at a red flag sets the status.
    op.execute(
        """
        UPDATE client SET
            safety_tier = (SELECT s.red_flag_tier FROM screening s
                           WHERE s.client_id = client.id AND s.status IN ('completed', 'red_flag')
                           ORDER BY s.finished_at DESC LIMIT 1),
            safety_at = (SELECT s.finished_at FROM screening s
                         WHERE s.client_id = client.id AND s.status IN ('completed', 'red_flag')
                         ORDER BY s.finished_at DESC LIMIT 1)
        WHERE health_consent
        """
    )
    op.execute("UPDATE client SET safety_at = NULL WHERE safety_tier IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("client") as batch:
        batch.drop_column("safety_cleared_at")
        batch.drop_column("safety_at")
        batch.drop_column("safety_symptom")
        batch.drop_column("safety_tier")
