"""constant column defaults become the database's (server defaults)

So that every writer stores the same value: the ORM, and the intake fast path's hand-written INSERTs,
which leave these columns out. Rows already stored keep their values; only the defaults change.

Revision ID: b10a0d3f5e01
Revises: 25c6fd1c5bc6
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "b10a0d3f5e01"
down_revision: str | None = "25c6fd1c5bc6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, type, server default) as of this revision; written out here, not read from the models,
# so the migration stays what it was when the models change later.
DEFAULTS: list[tuple[str, str, sa.types.TypeEngine[Any], sa.TextClause | sa.ColumnElement[bool] | str]] = [
    ("jobs", "payload", sa.JSON(), sa.text("'{}'")),
    ("jobs", "state", sa.String(length=10), "queued"),
    ("jobs", "attempts", sa.Integer(), sa.text("0")),
    ("orders", "callback_urls", sa.JSON(), sa.text("'[]'")),
    ("tickets", "status", sa.String(length=20), "open"),
    ("tickets", "event_seq", sa.Integer(), sa.text("0")),
    ("tickets", "version", sa.Integer(), sa.text("1")),
    ("messages", "internal", sa.Boolean(), sa.false()),
    ("ticket_history", "details", sa.JSON(), sa.text("'{}'")),
    ("evidence_files", "position", sa.Integer(), sa.text("0")),
    ("evidence_files", "state", sa.String(length=10), "pending"),
    ("webhook_deliveries", "state", sa.String(length=10), "pending"),
    ("webhook_deliveries", "attempts", sa.Integer(), sa.text("0")),
]


def _refuse_foreign_keys_on_sqlite() -> None:
    """SQLite changes a default by copying the table and dropping the old one; with foreign keys enforced,
    that DROP would delete (cascade to) every row that refers to it. Alembic's own connection has them off."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("run this migration on a SQLite connection with PRAGMA foreign_keys=OFF")


def _set(defaults: bool) -> None:
    _refuse_foreign_keys_on_sqlite()
    for table in dict.fromkeys(table for table, *_ in DEFAULTS):
        # batch_alter_table: SQLite cannot ALTER a column's default; the batch copies the table once with all
        # of its new defaults. PostgreSQL gets plain ALTER COLUMN ... SET DEFAULT.
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, type_, default in ((c, ty, d) for t, c, ty, d in DEFAULTS if t == table):
                batch_op.alter_column(
                    column, existing_type=type_, existing_nullable=False, server_default=default if defaults else None
                )


def upgrade() -> None:
    _set(defaults=True)


def downgrade() -> None:
    _set(defaults=False)
