"""api keys: their last characters (to tell them apart on the portal's account page) and when they were last used

Keys made before this migration have no last characters; the page names them by their stored prefix.

Revision ID: 7c1d3e5f9a20
Revises: 4b6e2f1a9c30 (api key rotation)
Create Date: 2026-12-02 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from claimdesk.models.base import UTCDateTime

revision: str = "7c1d3e5f9a20"
down_revision: str | None = "4b6e2f1a9c30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_chars", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("last_chars")
