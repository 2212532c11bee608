"""The statements of POST /tickets, on the DBAPI cursor (see ``claimdesk.rawdb`` for why).

They are compiled once from the models' tables, so they read and write the same columns as the ORM: the
INSERTs name the keys of their row types (``claimdesk.models.rows``, shared with the ORM's writers) and
leave every other column to the database's default. The tests of every other path (lifecycle, files,
webhooks, reads) read what these write through the ORM.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, cast

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.engine.default import DefaultDialect

from claimdesk.models import (
    FILE_PENDING,
    Event,
    EvidenceFile,
    HistoryEntry,
    Job,
    Order,
    OrderProduct,
    Ticket,
    TicketProduct,
)
from claimdesk.models import rows as shared
from claimdesk.orders.ledger import claimed_items, unsolved_holder
from claimdesk.rawdb import Sql, Statement
from claimdesk.rules.statuses import TicketStatus
from claimdesk.rules.tickets import OrderFacts, OrderLine

_ORDERS = cast(sa.Table, Order.__table__)
_TICKETS = cast(sa.Table, Ticket.__table__)


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


def _select(table: sa.Table, row: type[Any]) -> sa.Select[Any]:
    """The columns of the dataclass ``row``, in its order, so that ``row(*result)`` reads them."""
    return sa.select(*(table.c[field.name] for field in dataclasses.fields(row)))


_ORDER = _select(_ORDERS, OrderRow).where(
    _ORDERS.c.account_id == sa.bindparam("account_id"), _ORDERS.c.external_id == sa.bindparam("key")
)
ORDER = Statement.compiled(_ORDER)
# PostgreSQL: concurrent tickets on one order queue here and each sees the others' claims. SQLite's
# BEGIN IMMEDIATE already keeps every other writer out (and SQLAlchemy leaves FOR UPDATE off there).
ORDER_FOR_UPDATE = Statement.compiled(_ORDER.with_for_update())
ORDER_BY_NUMBER = Statement.compiled(
    sa.select(_ORDERS.c.external_id).where(
        _ORDERS.c.account_id == sa.bindparam("account_id"), _ORDERS.c.id == sa.bindparam("number")
    )
)
TICKET = Statement.compiled(
    _select(_TICKETS, TicketRow).where(
        _TICKETS.c.account_id == sa.bindparam("account_id"), _TICKETS.c.external_id == sa.bindparam("key")
    )
)
TICKET_BY_NUMBER = Statement.compiled(_select(_TICKETS, TicketRow).where(_TICKETS.c.id == sa.bindparam("number")))


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


class _LineInsert(TypedDict):
    ticket_id: int
    order_product_id: int
    position: int
    amount: int


def _insert(model: type[Any], row_type: Any, *, returning_id: bool = False) -> Statement:
    return Statement.insert(cast(sa.Table, model.__table__), shared.columns(row_type), returning_id=returning_id)


INSERT_LINE = _insert(TicketProduct, _LineInsert, returning_id=True)
INSERT_FILE = _insert(EvidenceFile, shared.FileRow, returning_id=True)
INSERT_STORED_FILE = _insert(EvidenceFile, shared.StoredFileRow, returning_id=True)
INSERT_HISTORY = _insert(HistoryEntry, shared.HistoryRow)
INSERT_EVENT = _insert(Event, shared.EventRow, returning_id=True)
INSERT_JOB = _insert(Job, shared.JobRow)


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
    """A file of a new ticket's line: a URL to fetch (pending), or (``uri`` None) an upload already stored."""

    uri: str | None
    position: int
    id: int = 0
    state: str = FILE_PENDING  # the database's default for the row just written
    filename: str | None = None
    error: str | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    thumbnail_key: str | None = None
    storage_key: str | None = None


class StoredContentLike(Protocol):
    """Checked bytes in storage (``files.service.StoredContent``)."""

    @property
    def content_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def storage_key(self) -> str: ...
    @property
    def thumbnail_key(self) -> str | None: ...


def stored_file(position: int, filename: str | None, content: StoredContentLike) -> NewFile:
    """An uploaded file of a new ticket's line, as it is written (stored, nothing to fetch)."""
    return NewFile(
        uri=None,
        position=position,
        state=shared.FILE_STORED,
        filename=filename,
        content_type=content.content_type,
        size=content.size,
        sha256=content.sha256,
        thumbnail_key=content.thumbnail_key,
        storage_key=content.storage_key,
    )


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
    status: str = TicketStatus.OPEN.value  # the database's default for the row just written
    resolution: dict[str, Any] | None = None

    @property
    def updated_at(self) -> dt.datetime:
        return self.created_at


@dataclass(frozen=True, slots=True)
class NewHistory:
    action: str
    status: str
    by_type: str
    by_id: int | None
    by_name: str | None
    at: dt.datetime

    @property
    def details(self) -> dict[str, Any]:
        return {}  # the database's default, as written


# The first event of a ticket: the fast path writes event_seq itself (the ORM's record_event counts up).
FIRST_EVENT = 1


# What the fast path writes of a new ticket: NewTicket's fields that are columns (its id, status and
# resolution are the database's), the first event's number, and one moment, bound once, for the time it was
# created, changed and waits since.
_DATABASES = {"id", "status", "resolution"}
TICKET_COLUMNS = (
    {f.name: f.name for f in dataclasses.fields(NewTicket) if f.name in _TICKETS.c and f.name not in _DATABASES}
    | {"event_seq": "event_seq"}
    | dict.fromkeys(("waiting_since", "updated_at", "created_at"), "now")
)
INSERT_TICKET = Statement.insert(_TICKETS, TICKET_COLUMNS, returning_id=True)
# Every INSERT of the fast path, for the drift tests.
INSERTS = (INSERT_TICKET, INSERT_LINE, INSERT_FILE, INSERT_HISTORY, INSERT_EVENT, INSERT_JOB)

# SQLite's search index, written once per transaction for the fast path's tickets (migration 5c7d3e9a1b42):
# FTS5 writes out its pending rows at every savepoint, and the group commit runs each ticket in one. A
# queued ticket is left alone by the index's triggers; its row is built here from the tables, as the first
# migration's backfill builds it (lines and messages in the order they were written).
QUEUE_FOR_SEARCH = Statement.of("INSERT INTO ticket_search_queue (ticket_id) VALUES (:ticket_id)")
_INDEX_QUEUED = """INSERT INTO ticket_search (rowid, refs, body)
    SELECT t.id,
           t.id || ' ' || t.external_id || ' ' || o.external_id
             || coalesce((SELECT ' ' || group_concat(part, ' ') FROM (
                            SELECT p.key || ' ' || coalesce(p.code, '') AS part
                            FROM ticket_products tp JOIN order_products p ON p.id = tp.order_product_id
                            WHERE tp.ticket_id = t.id ORDER BY tp.id)), ''),
           coalesce(t.description, '')
             || coalesce((SELECT ' ' || group_concat(body, ' ') FROM (
                            SELECT m.body FROM messages m WHERE m.ticket_id = t.id ORDER BY m.id)), '')
    FROM ticket_search_queue q JOIN tickets t ON t.id = q.ticket_id JOIN orders o ON o.id = t.order_id"""
_INDEX_QUEUED = " ".join(_INDEX_QUEUED.split())


def index_queued(sql: Sql) -> None:
    """The search rows of the tickets queued in this transaction, written together, just before it commits."""
    sql.cursor.execute(_INDEX_QUEUED)
    sql.cursor.execute("DELETE FROM ticket_search_queue")


def insert_ticket(sql: Sql, ticket: NewTicket) -> list[int]:
    """The ticket, its product lines and their files; sets their ids. Returns the ids of the files to fetch
    (uploaded ones are stored already)."""
    now = sql.time(ticket.created_at)
    row = {
        "account_id": ticket.account_id,
        "order_id": ticket.order_id,
        "external_id": ticket.external_id,
        "description": ticket.description,
        "reason": ticket.reason,
        "suggested_solution": ticket.suggested_solution,
        "contact_email": ticket.contact_email,
        "body_hash": ticket.body_hash,
        "event_seq": FIRST_EVENT,
        "now": now,
    }
    ticket.id = sql.insert(INSERT_TICKET, row)
    if sql.shared:  # SQLite's group commit, before the lines, whose triggers would index it one at a time
        sql.cursor.execute(QUEUE_FOR_SEARCH.sqlite, {"ticket_id": ticket.id})
        sql.before_commit(index_queued)
    file_ids = []
    for line in ticket.products:
        line_row: _LineInsert = {
            "ticket_id": ticket.id,
            "order_product_id": line.order_product_id,
            "position": line.position,
            "amount": line.amount,
        }
        line.id = sql.insert(INSERT_LINE, line_row)
        for file in line.files:
            if file.uri is None:
                file.id = sql.insert(INSERT_STORED_FILE, _stored_row(ticket.id, line.id, file, now))
                continue
            file.id = sql.insert(
                INSERT_FILE, shared.file_row(ticket.id, file.position, file.uri, now, ticket_product_id=line.id)
            )
            file_ids.append(file.id)
    return file_ids


def _stored_row(ticket_id: int, line_id: int, file: NewFile, now: Any) -> shared.StoredFileRow:
    assert file.content_type is not None
    assert file.size is not None
    assert file.sha256 is not None
    assert file.storage_key is not None
    return shared.stored_file_row(
        ticket_id,
        line_id,
        file.position,
        filename=file.filename,
        content_type=file.content_type,
        size=file.size,
        sha256=file.sha256,
        storage_key=file.storage_key,
        thumbnail_key=file.thumbnail_key,
        created_at=now,
    )


def insert_history(
    sql: Sql, ticket_id: int, action: str, *, status: str, by: shared.Stamp, at: dt.datetime
) -> NewHistory:
    """A history entry of the ticket; returns it as its view shows it."""
    sql.run(INSERT_HISTORY, shared.history_row(ticket_id, action, status, by, sql.time(at)))
    return NewHistory(action, status, by["by_type"], by["by_id"], by["by_name"], at)


def insert_event(
    sql: Sql, *, account_id: int, ticket_id: int, event_type: str, sequence: int, ticket: str, now: dt.datetime
) -> int:
    """The ticket's event; ``ticket`` is its view as the column stores it (``Sql.json``)."""
    row = shared.event_row(
        account_id=account_id,
        ticket_id=ticket_id,
        event_type=event_type,
        sequence=sequence,
        ticket=ticket,
        at=sql.time(now),
    )
    return sql.insert(INSERT_EVENT, row)


def enqueue(sql: Sql, jobs: Sequence[tuple[str, int]], now: dt.datetime) -> None:
    """Jobs (kind, ref_id), due now: written with the change, as ``claimdesk.jobs.enqueue_many`` does."""
    at = sql.time(now)
    sql.run_many(INSERT_JOB, [shared.job_row(kind, ref_id, at, at) for kind, ref_id in jobs])
