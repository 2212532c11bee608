"""the search row of a ticket is written with its first product line, not written and then rewritten

Revision ID: f12a0b3c4d01
Revises: e11c0a50f7a1
Create Date: 2026-12-02 06:30:00.000000

Before: a trigger on ``tickets`` inserted the ticket's search row, and a trigger on ``ticket_products``
updated it with each line's refs. In SQLite's FTS5 an UPDATE is a delete of the old document plus an insert
of the new one, so every ticket filed paid for its search row three times; callgrind counted 0.47 M of the
intake's 2.54 M instructions per ticket in that UPDATE (bench/intake_instructions.py).

Every ticket has at least one product line, written in the same transaction as the ticket. Now the line
trigger writes the whole row (number, ticket id, order id, description and this line's refs) when the ticket
has no other line yet, and appends to it only for a second or later line. Messages still append (they come later, one
at a time). Search answers exactly as before: the backfill is not needed, the documents are the same.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f12a0b3c4d01"
down_revision: str | None = "e11c0a50f7a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_LINE_FIRST = """CREATE TRIGGER ticket_search_line_first AFTER INSERT ON ticket_products
  WHEN NOT EXISTS (SELECT 1 FROM ticket_products WHERE ticket_id = NEW.ticket_id AND id <> NEW.id) BEGIN
    INSERT INTO ticket_search (rowid, refs, body)
    SELECT t.id, t.id || ' ' || t.external_id || ' ' || o.external_id || ' ' || p.key || ' ' || coalesce(p.code, ''),
           coalesce(t.description, '')
    FROM tickets t JOIN orders o ON o.id = t.order_id JOIN order_products p ON p.id = NEW.order_product_id
    WHERE t.id = NEW.ticket_id;
  END"""
SQLITE_LINE_MORE = """CREATE TRIGGER ticket_search_line_inserted AFTER INSERT ON ticket_products
  WHEN EXISTS (SELECT 1 FROM ticket_products WHERE ticket_id = NEW.ticket_id AND id <> NEW.id) BEGIN
    UPDATE ticket_search
    SET refs = refs || (SELECT ' ' || p.key || ' ' || coalesce(p.code, '') FROM order_products p
                        WHERE p.id = NEW.order_product_id)
    WHERE rowid = NEW.ticket_id;
  END"""

# Which of the two SQLite triggers acts is decided by the ticket's other lines, not by the search row, so the
# order in which SQLite fires them does not matter.

POSTGRESQL_LINE = """CREATE OR REPLACE FUNCTION ticket_search_line_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO ticket_search AS s (ticket_id, document)
    SELECT t.id, setweight(ticket_search_words(t.id || ' ' || t.external_id || ' ' || o.external_id || ' '
                             || p.key || ' ' || coalesce(p.code, '')), 'A')
                 || ticket_search_words(t.description)
    FROM tickets t JOIN orders o ON o.id = t.order_id JOIN order_products p ON p.id = NEW.order_product_id
    WHERE t.id = NEW.ticket_id
    ON CONFLICT (ticket_id) DO UPDATE
      SET document = s.document
        || setweight(ticket_search_words((SELECT p.key || ' ' || coalesce(p.code, '') FROM order_products p
                                          WHERE p.id = NEW.order_product_id)), 'A');
    RETURN NULL;
  END $$"""

SQLITE_OLD_TICKET = """CREATE TRIGGER ticket_search_ticket_inserted AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_search (rowid, refs, body)
    SELECT NEW.id, NEW.id || ' ' || NEW.external_id || ' ' || o.external_id, coalesce(NEW.description, '')
    FROM orders o WHERE o.id = NEW.order_id;
  END"""
SQLITE_OLD_LINE = """CREATE TRIGGER ticket_search_line_inserted AFTER INSERT ON ticket_products BEGIN
    UPDATE ticket_search
    SET refs = refs || (SELECT ' ' || p.key || ' ' || coalesce(p.code, '') FROM order_products p
                        WHERE p.id = NEW.order_product_id)
    WHERE rowid = NEW.ticket_id;
  END"""
POSTGRESQL_OLD_LINE = """CREATE OR REPLACE FUNCTION ticket_search_line_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE ticket_search s
    SET document = s.document || setweight(ticket_search_words(p.key || ' ' || coalesce(p.code, '')), 'A')
    FROM order_products p
    WHERE p.id = NEW.order_product_id AND s.ticket_id = NEW.ticket_id;
    RETURN NULL;
  END $$"""
POSTGRESQL_OLD_TICKET = """CREATE TRIGGER ticket_search_ticket_inserted AFTER INSERT ON tickets
  FOR EACH ROW EXECUTE FUNCTION ticket_search_ticket_inserted()"""


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        op.execute(sa.text("DROP TRIGGER ticket_search_ticket_inserted"))
        op.execute(sa.text("DROP TRIGGER ticket_search_line_inserted"))
        connection.exec_driver_sql(SQLITE_LINE_MORE)
        connection.exec_driver_sql(SQLITE_LINE_FIRST)
    else:
        op.execute(sa.text("DROP TRIGGER ticket_search_ticket_inserted ON tickets"))
        connection.exec_driver_sql(POSTGRESQL_LINE)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        op.execute(sa.text("DROP TRIGGER ticket_search_line_first"))
        op.execute(sa.text("DROP TRIGGER ticket_search_line_inserted"))
        connection.exec_driver_sql(SQLITE_OLD_TICKET)
        connection.exec_driver_sql(SQLITE_OLD_LINE)
    else:
        connection.exec_driver_sql(POSTGRESQL_OLD_LINE)
        connection.exec_driver_sql(POSTGRESQL_OLD_TICKET)
