"""full-text search over tickets, kept by triggers; the dashboard's rollups; indexes for the console

Revision ID: e11c0a50f7a1
Revises: d11e0b5e55a1 (web users; this branch merged web, first written on 25c6fd1c5bc6)
Create Date: 2026-12-01 23:20:00.000000

The search document of a ticket holds its number, the reseller's ticket id, the order id and the product
lines' ids and codes (``refs``), and its description and every message body (``body``; internal notes too,
since only staff search). Triggers in the database keep it in the same transaction as every change, whichever
path writes: the ORM, or the intake fast path's hand-written statements.

SQLite: an FTS5 table whose rowid is the ticket number. PostgreSQL: ``ticket_search(ticket_id, document)``
with a ``tsvector`` (refs weighted A) under a GIN index. Both split text into runs of letters and digits and
lower-case them, so "banner-510" is found as "banner 510" on either database.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from claimdesk.models.base import UTCDateTime

revision: str = "e11c0a50f7a1"
down_revision: str | None = "d11e0b5e55a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE = [
    """CREATE VIRTUAL TABLE ticket_search USING fts5(
         refs, body, tokenize = 'unicode61 remove_diacritics 0', prefix = '3')""",
    """CREATE TRIGGER ticket_search_ticket_inserted AFTER INSERT ON tickets BEGIN
         INSERT INTO ticket_search (rowid, refs, body)
         SELECT NEW.id, NEW.id || ' ' || NEW.external_id || ' ' || o.external_id, coalesce(NEW.description, '')
         FROM orders o WHERE o.id = NEW.order_id;
       END""",
    """CREATE TRIGGER ticket_search_line_inserted AFTER INSERT ON ticket_products BEGIN
         UPDATE ticket_search
         SET refs = refs || (SELECT ' ' || p.key || ' ' || coalesce(p.code, '') FROM order_products p
                             WHERE p.id = NEW.order_product_id)
         WHERE rowid = NEW.ticket_id;
       END""",
    """CREATE TRIGGER ticket_search_message_inserted AFTER INSERT ON messages BEGIN
         UPDATE ticket_search SET body = body || ' ' || NEW.body WHERE rowid = NEW.ticket_id;
       END""",
    """CREATE TRIGGER ticket_search_ticket_deleted AFTER DELETE ON tickets BEGIN
         DELETE FROM ticket_search WHERE rowid = OLD.id;
       END""",
    """INSERT INTO ticket_search (rowid, refs, body)
       SELECT t.id,
              t.id || ' ' || t.external_id || ' ' || o.external_id
                || coalesce((SELECT ' ' || group_concat(p.key || ' ' || coalesce(p.code, ''), ' ')
                             FROM ticket_products tp JOIN order_products p ON p.id = tp.order_product_id
                             WHERE tp.ticket_id = t.id), ''),
              coalesce(t.description, '')
                || coalesce((SELECT ' ' || group_concat(m.body, ' ') FROM messages m WHERE m.ticket_id = t.id), '')
       FROM tickets t JOIN orders o ON o.id = t.order_id""",
]

POSTGRESQL = [
    # Runs of letters and digits, lower-cased, nothing stemmed: the same words SQLite's unicode61 finds.
    """CREATE FUNCTION ticket_search_words(text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
         SELECT to_tsvector('simple'::regconfig, regexp_replace(coalesce($1, ''), '[^[:alnum:]]+', ' ', 'g'))
       $$""",
    """CREATE TABLE ticket_search (
         ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
         document TSVECTOR NOT NULL)""",
    "CREATE INDEX ix_ticket_search_document ON ticket_search USING gin (document)",
    """CREATE FUNCTION ticket_search_ticket_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO ticket_search (ticket_id, document)
         SELECT NEW.id, setweight(ticket_search_words(NEW.id || ' ' || NEW.external_id || ' ' || o.external_id), 'A')
                        || ticket_search_words(NEW.description)
         FROM orders o WHERE o.id = NEW.order_id;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER ticket_search_ticket_inserted AFTER INSERT ON tickets
       FOR EACH ROW EXECUTE FUNCTION ticket_search_ticket_inserted()""",
    """CREATE FUNCTION ticket_search_line_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE ticket_search s
         SET document = s.document || setweight(ticket_search_words(p.key || ' ' || coalesce(p.code, '')), 'A')
         FROM order_products p
         WHERE p.id = NEW.order_product_id AND s.ticket_id = NEW.ticket_id;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER ticket_search_line_inserted AFTER INSERT ON ticket_products
       FOR EACH ROW EXECUTE FUNCTION ticket_search_line_inserted()""",
    """CREATE FUNCTION ticket_search_message_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE ticket_search SET document = document || ticket_search_words(NEW.body)
         WHERE ticket_id = NEW.ticket_id;
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER ticket_search_message_inserted AFTER INSERT ON messages
       FOR EACH ROW EXECUTE FUNCTION ticket_search_message_inserted()""",
    """INSERT INTO ticket_search (ticket_id, document)
       SELECT t.id,
              setweight(ticket_search_words(t.id || ' ' || t.external_id || ' ' || o.external_id || ' '
                || coalesce((SELECT string_agg(p.key || ' ' || coalesce(p.code, ''), ' ')
                             FROM ticket_products tp JOIN order_products p ON p.id = tp.order_product_id
                             WHERE tp.ticket_id = t.id), '')), 'A')
              || ticket_search_words(coalesce(t.description, '') || ' '
                || coalesce((SELECT string_agg(m.body, ' ') FROM messages m WHERE m.ticket_id = t.id), ''))
       FROM tickets t JOIN orders o ON o.id = t.order_id""",
]


def upgrade() -> None:
    # Exact look-ups across accounts (a search for a ticket id or an order id), and the dashboard's ranges.
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_external_id", ["external_id"], unique=False)
        batch_op.create_index("ix_tickets_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_external_id", ["external_id"], unique=False)
        batch_op.create_index("ix_orders_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("ticket_history", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_history_at", ["at"], unique=False)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_created_at", ["created_at"], unique=False)
    # The dashboard's rollups of whole hours, days and weeks (filled when first asked for; events never change).
    op.create_table(
        "dashboard_rollups",
        sa.Column("period", sa.String(length=4), nullable=False),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("period", "start", "kind", "key", name=op.f("pk_dashboard_rollups")),
    )
    op.create_table(
        "dashboard_periods",
        sa.Column("period", sa.String(length=4), nullable=False),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("rolled_up_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("period", "start", name=op.f("pk_dashboard_periods")),
    )
    statements = SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL
    connection = op.get_bind()
    for statement in statements:
        # On the driver: the statements hold colons ("[:alnum:]") that are no bind parameters.
        connection.exec_driver_sql(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("ticket_inserted", "line_inserted", "message_inserted", "ticket_deleted"):
            op.execute(sa.text(f"DROP TRIGGER ticket_search_{name}"))
        op.execute(sa.text("DROP TABLE ticket_search"))
    else:
        for name, table in (("ticket", "tickets"), ("line", "ticket_products"), ("message", "messages")):
            op.execute(sa.text(f"DROP TRIGGER ticket_search_{name}_inserted ON {table}"))
            op.execute(sa.text(f"DROP FUNCTION ticket_search_{name}_inserted()"))
        op.execute(sa.text("DROP TABLE ticket_search"))
        op.execute(sa.text("DROP FUNCTION ticket_search_words(text)"))
    op.drop_table("dashboard_periods")
    op.drop_table("dashboard_rollups")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_created_at")
    with op.batch_alter_table("ticket_history", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_history_at")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_created_at")
        batch_op.drop_index("ix_orders_external_id")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_created_at")
        batch_op.drop_index("ix_tickets_external_id")
