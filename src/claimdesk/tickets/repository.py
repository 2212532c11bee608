"""The statements of POST /tickets, hand-written on the DBAPI cursor (see ``claimdesk.rawdb`` for why).

They read and write the same tables as the models in ``claimdesk.models``; the tests of every other path
(lifecycle, files, webhooks, reads) read what these write through the ORM.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.engine.default import DefaultDialect

from claimdesk.models import OrderProduct
from claimdesk.orders.ledger import claimed_items, unsolved_holder
from claimdesk.rawdb import Sql, Statement
from claimdesk.rules.statuses import TicketStatus
from claimdesk.rules.tickets import OrderFacts, OrderLine


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: int
    external_id: str
    customer_email: str | None


@dataclass(frozen=True, slots=True)
class TicketRow:
    id: int
    external_id: str
    status: str
    body_hash: str


_ORDER = "SELECT id, external_id, customer_email FROM orders WHERE account_id = :account_id AND external_id = :key"
ORDER = Statement.of(_ORDER)
# PostgreSQL: concurrent tickets on one order queue here and each sees the others' claims. SQLite's
# BEGIN IMMEDIATE already keeps every other writer out.
ORDER_FOR_UPDATE = Statement(sqlite=ORDER.sqlite, postgresql=Statement.of(_ORDER + " FOR UPDATE").postgresql)
ORDER_BY_NUMBER = Statement.of("SELECT external_id FROM orders WHERE account_id = :account_id AND id = :number")
TICKET = Statement.of(
    "SELECT id, external_id, status, body_hash FROM tickets WHERE account_id = :account_id AND external_id = :key"
)
TICKET_BY_NUMBER = Statement.of("SELECT id, external_id, status, body_hash FROM tickets WHERE id = :number")


# The drivers' dialects, for compiling to the text ``Sql`` runs: ``:name`` on SQLite, ``%(name)s`` on psycopg.
_SQLITE = cast("type[DefaultDialect]", make_url("sqlite://").get_dialect())(paramstyle="named")
_POSTGRESQL = make_url("postgresql+psycopg://").get_dialect()()


@functools.lru_cache(maxsize=128)
def _named_lines(count: int) -> tuple[Statement, dict[str, Any]]:
    """Per line: the items tickets already claim and the first unsolved ticket with the new ticket's reason
    that claims it (the grouping rule's 409), in one trip. Both come from ``orders.ledger``, compiled to
    text once per number of lines; with the text go the values of its constant parameters."""
    p = OrderProduct
    query = sa.select(
        p.id, p.key, p.ref_is_int, p.code, p.amount, claimed_items(p.id), unsolved_holder(p.id, sa.bindparam("reason"))
    ).where(p.order_id == sa.bindparam("order_id"), p.key.in_([sa.bindparam(f"k{i}") for i in range(count)]))
    compiled = query.compile(dialect=_SQLITE)
    return Statement(sqlite=str(compiled), postgresql=str(query.compile(dialect=_POSTGRESQL))), compiled.params


INSERT_TICKET = Statement.of(
    """INSERT INTO tickets (account_id, order_id, external_id, description, reason, suggested_solution,
         contact_email, status, body_hash, event_seq, version, waiting_since, updated_at, created_at)
       VALUES (:account_id, :order_id, :external_id, :description, :reason, :suggested_solution,
         :contact_email, :status, :body_hash, 1, 1, :now, :now, :now)
       RETURNING id"""
)
INSERT_LINE = Statement.of(
    """INSERT INTO ticket_products (ticket_id, order_product_id, position, amount)
       VALUES (:ticket_id, :order_product_id, :position, :amount) RETURNING id"""
)
INSERT_FILE = Statement.of(
    """INSERT INTO evidence_files (ticket_id, ticket_product_id, position, uri, state, created_at)
       VALUES (:ticket_id, :ticket_product_id, :position, :uri, 'pending', :now) RETURNING id"""
)
INSERT_HISTORY = Statement.of(
    """INSERT INTO ticket_history (ticket_id, action, status, details, by_type, by_id, by_name, at)
       VALUES (:ticket_id, :action, :status, '{}', :by_type, :by_id, :by_name, :now)"""
)
INSERT_EVENT = Statement.of(
    """INSERT INTO events (account_id, ticket_id, type, sequence, ticket, created_at)
       VALUES (:account_id, :ticket_id, :type, :sequence, :ticket, :now) RETURNING id"""
)
INSERT_JOB = Statement.of(
    """INSERT INTO jobs (kind, ref_id, payload, state, run_at, attempts, created_at)
       VALUES (:kind, :ref_id, '{}', 'queued', :now, 0, :now)"""
)


def find_order(sql: Sql, account_id: int, key: str, *, lock: bool) -> OrderRow | None:
    row = sql.one(ORDER_FOR_UPDATE if lock else ORDER, {"account_id": account_id, "key": key})
    return OrderRow(*row) if row is not None else None


def order_number_owner(sql: Sql, account_id: int, number: int) -> str | None:
    """The reseller's id of the account's order with this supplier_order_number, if any."""
    row = sql.one(ORDER_BY_NUMBER, {"account_id": account_id, "number": number})
    return str(row[0]) if row is not None else None


def find_ticket(sql: Sql, account_id: int, external_id: str) -> TicketRow | None:
    row = sql.one(TICKET, {"account_id": account_id, "key": external_id})
    return TicketRow(*row) if row is not None else None


@dataclass(frozen=True, slots=True)
class Lines:
    """The order's lines a ticket names, and which of them unsolved tickets with its reason already hold."""

    facts: OrderFacts
    holders: dict[int, int]  # order line id -> number of the first unsolved ticket with the reason


def order_lines(sql: Sql, order: OrderRow, keys: Collection[str], reason: str | None) -> Lines:
    """The order's lines named by ``keys``, with the items tickets already claim of each and, when ``reason``
    is given, the first unsolved ticket with that reason on each."""
    ordered = sorted(keys)
    rows = []
    if ordered:
        statement, constants = _named_lines(len(ordered))
        params: dict[str, Any] = {**constants, "order_id": order.id, "reason": reason}
        params.update({f"k{i}": key for i, key in enumerate(ordered)})
        rows = sql.all(statement, params)
    lines = {}
    holders = {}
    for line_id, key, is_int, code, amount, claimed, holder in rows:
        lines[key] = OrderLine(
            ref=int(key) if is_int else key, amount=amount, claimed=int(claimed), line_id=line_id, code=code
        )
        if holder is not None:
            holders[line_id] = int(holder)
    return Lines(OrderFacts(customer_email=order.customer_email, lines=lines), holders)


def ticket_by_number(sql: Sql, number: int) -> TicketRow:
    row = sql.one(TICKET_BY_NUMBER, {"number": number})
    assert row is not None
    return TicketRow(*row)


# The rows of a new ticket. They are also what its first view is built from (they have what
# ``presenter.TicketLike`` and friends ask for), so that the view needs no ORM objects and no read-back.


@dataclass(slots=True)
class NewFile:
    uri: str
    position: int
    id: int = 0
    state: str = "pending"
    filename: str | None = None
    error: str | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    thumbnail_key: str | None = None


@dataclass(slots=True)
class NewLine:
    order_product_id: int
    position: int
    amount: int
    files: list[NewFile]
    id: int = 0
    granted: int | None = None


@dataclass(slots=True)
class NewTicket:
    account_id: int
    order_id: int
    external_id: str
    description: str | None
    reason: str
    suggested_solution: str
    contact_email: str
    body_hash: str
    created_at: dt.datetime
    products: list[NewLine]
    id: int = 0
    status: str = TicketStatus.OPEN.value
    resolution: dict[str, Any] | None = None

    @property
    def updated_at(self) -> dt.datetime:
        return self.created_at


@dataclass(frozen=True, slots=True)
class NewHistory:
    ticket_id: int
    action: str
    status: str
    by_type: str
    by_id: int | None
    by_name: str | None
    at: dt.datetime

    @property
    def details(self) -> dict[str, Any]:
        return {}


def insert_ticket(sql: Sql, ticket: NewTicket) -> list[int]:
    """The ticket, its product lines and their files; sets their ids. Returns the files' ids."""
    now = sql.time(ticket.created_at)
    ticket.id = sql.insert(
        INSERT_TICKET,
        {
            "account_id": ticket.account_id,
            "order_id": ticket.order_id,
            "external_id": ticket.external_id,
            "description": ticket.description,
            "reason": ticket.reason,
            "suggested_solution": ticket.suggested_solution,
            "contact_email": ticket.contact_email,
            "status": ticket.status,
            "body_hash": ticket.body_hash,
            "now": now,
        },
    )
    file_ids = []
    for line in ticket.products:
        line.id = sql.insert(
            INSERT_LINE,
            {
                "ticket_id": ticket.id,
                "order_product_id": line.order_product_id,
                "position": line.position,
                "amount": line.amount,
            },
        )
        for file in line.files:
            file.id = sql.insert(
                INSERT_FILE,
                {
                    "ticket_id": ticket.id,
                    "ticket_product_id": line.id,
                    "position": file.position,
                    "uri": file.uri,
                    "now": now,
                },
            )
            file_ids.append(file.id)
    return file_ids


def insert_history(sql: Sql, entry: NewHistory) -> None:
    sql.run(
        INSERT_HISTORY,
        {
            "ticket_id": entry.ticket_id,
            "action": entry.action,
            "status": entry.status,
            "by_type": entry.by_type,
            "by_id": entry.by_id,
            "by_name": entry.by_name,
            "now": sql.time(entry.at),
        },
    )


def insert_event(
    sql: Sql, *, account_id: int, ticket_id: int, event_type: str, sequence: int, view: dict[str, Any], now: dt.datetime
) -> int:
    return sql.insert(
        INSERT_EVENT,
        {
            "account_id": account_id,
            "ticket_id": ticket_id,
            "type": event_type,
            "sequence": sequence,
            "ticket": sql.json(view),
            "now": sql.time(now),
        },
    )


def enqueue(sql: Sql, jobs: Sequence[tuple[str, int]], now: dt.datetime) -> None:
    """Jobs (kind, ref_id), due now: written with the change, as ``claimdesk.jobs.enqueue_many`` does."""
    at = sql.time(now)
    sql.run_many(INSERT_JOB, [{"kind": kind, "ref_id": ref_id, "now": at} for kind, ref_id in jobs])
