"""the words a client writes with /human, carried by the request until it goes; events
without symptoms

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 16:00:00.000000

`/human Can I get a session before Friday?` lost everything after the command: the words
now wait on the request row (status asked) and are posted under it once the client says yes.
Red-flag events kept the symptom next to the client's other rows (and after /delete, beside
a date that may tell who it was): the staff figures need only the tier, so that is all they
keep.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handoff") as batch:
        batch.add_column(sa.Column("words", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    kinds = "kind IN ('red_flag_exit', 'emergency_text')"
    if op.get_bind().dialect.name == "postgresql":
        tier = "json_build_object('tier', COALESCE(data->>'tier', 'A'))"
    else:
        tier = "json_object('tier', COALESCE(json_extract(data, '$.tier'), 'A'))"
    op.execute(f"UPDATE event SET data = {tier} WHERE {kinds}")


def downgrade() -> None:
    with op.batch_alter_table("handoff") as batch:
        batch.drop_column("words")
