"""api keys: an expiry for rotated keys, and the epoch that tells processes to drop their key caches

Revision ID: 4b6e2f1a9c30
Revises: f12a7c0e5d01 (portal users' last contact e-mail; first written on e11c0a50f7a1)
Create Date: 2026-12-02 07:20:00.000000
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from claimdesk.models.base import UTCDateTime

revision: str = "4b6e2f1a9c30"
down_revision: str | None = "f12a7c0e5d01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
    epoch = op.create_table(
        "api_key_epoch",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key_epoch")),
    )
    op.bulk_insert(epoch, [{"id": 1, "epoch": 0, "changed_at": dt.datetime.now(dt.UTC)}])


def downgrade() -> None:
    op.drop_table("api_key_epoch")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
