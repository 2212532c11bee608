"""the last contact e-mail a portal user gave, to prefill the next report

Revision ID: f12a7c0e5d01
Revises: f12a0b3c4d01 (the search row with the first line; first written on e11c0a50f7a1)
Create Date: 2026-12-02 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f12a7c0e5d01"
down_revision: str | None = "f12a0b3c4d01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_contact_email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("last_contact_email")
