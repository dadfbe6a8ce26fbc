"""crisis words in free text, and a red-flag hold without leaks

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:00:00.000000

`client.crisis_at`: the client's latest message in crisis words (care-safety.md, "Crisis
words"): nothing is sold for a day after it, and the retention job clears it then.
`handoff.urgent`: why a request is urgent when the client did not ask for it themselves
("crisis": the team was alerted to crisis words), shown first in /inbox.
`client.checked`: the symptoms a doctor has checked, with when and who, as the client told
it when a hold lifted. `screening.result_message_id`: the message showing its result with
booking buttons, which loses them when a hold starts later. `client.contra`: the latest
self-check's contraindications, which leave clashing movement prompts out of the rotation.
`reminderplan.answered_seq`: the latest prompt acted on (a typed "done" counts once).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("client") as batch:
        batch.add_column(sa.Column("checked", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("contra", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.add_column(sa.Column("crisis_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table("screening") as batch:
        batch.add_column(sa.Column("result_message_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("reminderplan") as batch:
        batch.add_column(
            sa.Column("answered_seq", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("handoff") as batch:
        batch.add_column(
            sa.Column("urgent", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("handoff") as batch:
        batch.drop_column("urgent")
    with op.batch_alter_table("reminderplan") as batch:
        batch.drop_column("answered_seq")
    with op.batch_alter_table("screening") as batch:
        batch.drop_column("result_message_id")
    with op.batch_alter_table("client") as batch:
        batch.drop_column("crisis_at")
        batch.drop_column("contra")
        batch.drop_column("checked")
