"""SQLite: the intake's tickets are indexed for search once per group commit, not once per ticket

Revision ID: 5c7d3e9a1b42
Revises: 7c1d3e5f9a20 (api key last use)
Create Date: 2026-12-02 23:00:00.000000

In a group commit every ticket runs in a savepoint of its own, and SQLite's FTS5 writes out what it holds
in memory at every savepoint (and at the end of every statement inside one): each ticket filed became a
segment of its own in the index, with the merges that follow. callgrind counted 0.17 M instructions per
ticket there, 8 % of POST /tickets, at 32 tickets in flight (bench/intake_instructions.py).

Now the fast path writes the ticket's number to ``ticket_search_queue``, in the ticket's savepoint, and the
group commit writes the search rows of every queued ticket with one statement just before its COMMIT
(``tickets.repository.index_queued``): still in the same transaction as the tickets, so search finds every
committed ticket, and a ticket rolled back takes its queue row with it. The triggers leave a queued ticket
alone (its row is written whole from the tables, lines and messages included, as the first migration's
backfill does); every other writer (the ORM) is indexed by the triggers as before, and the documents are
the same either way. PostgreSQL is unchanged: its index is a plain table with no such cost.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c7d3e9a1b42"
down_revision: str | None = "7c1d3e5f9a20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_QUEUED = "NOT EXISTS (SELECT 1 FROM ticket_search_queue WHERE ticket_id = NEW.ticket_id)"
_FIRST = "NOT EXISTS (SELECT 1 FROM ticket_products WHERE ticket_id = NEW.ticket_id AND id <> NEW.id)"
_MORE = "EXISTS (SELECT 1 FROM ticket_products WHERE ticket_id = NEW.ticket_id AND id <> NEW.id)"

_LINE_FIRST = """CREATE TRIGGER ticket_search_line_first AFTER INSERT ON ticket_products
  WHEN {when} BEGIN
    INSERT INTO ticket_search (rowid, refs, body)
    SELECT t.id, t.id || ' ' || t.external_id || ' ' || o.external_id || ' ' || p.key || ' ' || coalesce(p.code, ''),
           coalesce(t.description, '')
    FROM tickets t JOIN orders o ON o.id = t.order_id JOIN order_products p ON p.id = NEW.order_product_id
    WHERE t.id = NEW.ticket_id;
  END"""
_LINE_MORE = """CREATE TRIGGER ticket_search_line_inserted AFTER INSERT ON ticket_products
  WHEN {when} BEGIN
    UPDATE ticket_search
    SET refs = refs || (SELECT ' ' || p.key || ' ' || coalesce(p.code, '') FROM order_products p
                        WHERE p.id = NEW.order_product_id)
    WHERE rowid = NEW.ticket_id;
  END"""
_MESSAGE = """CREATE TRIGGER ticket_search_message_inserted AFTER INSERT ON messages {when}BEGIN
    UPDATE ticket_search SET body = body || ' ' || NEW.body WHERE rowid = NEW.ticket_id;
  END"""
_TRIGGERS = ("ticket_search_line_first", "ticket_search_line_inserted", "ticket_search_message_inserted")


def _triggers(*, queue: bool) -> list[str]:
    also = f" AND {_NOT_QUEUED}" if queue else ""
    return [
        _LINE_FIRST.format(when=_FIRST + also),
        _LINE_MORE.format(when=_MORE + also),
        _MESSAGE.format(when=f"WHEN {_NOT_QUEUED} " if queue else ""),
    ]


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    # No foreign key: a row lives only until the end of its transaction, and checking one costs a look-up.
    connection.exec_driver_sql("CREATE TABLE ticket_search_queue (ticket_id INTEGER PRIMARY KEY)")
    for name in _TRIGGERS:
        op.execute(sa.text(f"DROP TRIGGER {name}"))
    for statement in _triggers(queue=True):
        connection.exec_driver_sql(statement)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    for name in _TRIGGERS:
        op.execute(sa.text(f"DROP TRIGGER {name}"))
    for statement in _triggers(queue=False):
        connection.exec_driver_sql(statement)
    op.execute(sa.text("DROP TABLE ticket_search_queue"))
