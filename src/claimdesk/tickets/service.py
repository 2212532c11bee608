"""Filing tickets and reading them: every rule of the guide, checked at the door."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.accounts.service import Actor
from claimdesk.events.service import DISPATCH_JOB, EventType
from claimdesk.exceptions import Conflict, NotFound, ValidationFailed
from claimdesk.jobs import enqueue_many
from claimdesk.models import EvidenceFile, Order, Ticket, utcnow
from claimdesk.netguard import url_problems_async
from claimdesk.rawdb import Sql
from claimdesk.rules.catalogue import Reason
from claimdesk.rules.codes import Code
from claimdesk.rules.fields import as_id, is_clean_text, product_key
from claimdesk.rules.problems import Problem
from claimdesk.rules.statuses import TicketStatus
from claimdesk.rules.tickets import OrderFacts, contact_problems, named_products, product_line_problems
from claimdesk.tickets.presenter import Audience, Related, render, ticket_view
from claimdesk.timefmt import parse_rfc3339
from claimdesk.validation import page_size, parse

from . import repository
from .schemas import TicketIn

FETCH_FILE_JOB = "fetch_file"


_FILES = cast(sa.Table, EvidenceFile.__table__)
_INSERT_FILES = sa.insert(_FILES).returning(_FILES.c.id, sort_by_parameter_order=True)


def add_evidence_files(
    session: Session,
    ticket_id: int,
    uris: Sequence[str],
    *,
    ticket_product_id: int | None = None,
    message_id: int | None = None,
) -> list[EvidenceFile]:
    """Evidence files of a product line or a message, each with its fetch job in the same transaction."""
    if not uris:
        return []
    now = utcnow()
    rows = [
        {
            "ticket_id": ticket_id,
            "ticket_product_id": ticket_product_id,
            "message_id": message_id,
            "position": position,
            "uri": uri,
            "state": "pending",
            "created_at": now,
        }
        for position, uri in enumerate(uris)
    ]
    # A plain INSERT ... RETURNING of the ids, skipping the unit of work: most tickets carry files. The
    # objects handed back are for showing the files, not attached to the session.
    ids = session.execute(_INSERT_FILES, rows).scalars().all()
    enqueue_many(session, FETCH_FILE_JOB, ids)
    return [EvidenceFile(id=file_id, **row) for file_id, row in zip(ids, rows, strict=True)]


def body_hash(body: Any) -> str:
    """The same JSON whatever its key order or spacing gives the same hash."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _lookup_key(value: Any) -> str | None:
    """``value`` as a key to look up, only if it is valid text: a NUL or a lone surrogate must reach
    validation (``invalid_text``), never a query."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    key = str(value)
    return key if 1 <= len(key) <= 64 and is_clean_text(key) else None


def _external_id(body: Any) -> str | None:
    value = body.get("id") if isinstance(body, dict) else None
    return _lookup_key(value) if isinstance(value, str) else None


def _order_key(body: dict[str, Any]) -> str | None:
    return _lookup_key(body.get("order_id"))


@dataclass(frozen=True)
class Draft:
    """A ticket body checked as far as it can be without the database: done before the unit of work, so
    that the serialized part of intake is only the part that needs the order."""

    body: Any
    parsed: TicketIn | None
    problems: list[Problem]
    digest: str


async def draft_ticket(body: Any, *, allow_private_urls: bool) -> Draft:
    """Runs on the event loop: only a file URL with a host name (to look up) takes a trip to a thread."""
    parsed, problems = parse(TicketIn, body)
    if parsed is not None:
        uris = [
            (f"products.{i}.files.{j}.uri", f.uri)
            for i, line in enumerate(parsed.products)
            for j, f in enumerate(line.files or [])
        ]
        problems += await url_problems_async(uris, allow_private=allow_private_urls)
    return Draft(body, parsed, problems, body_hash(body))


def _order_problems(sql: Sql, account_id: int, key: str) -> list[Problem]:
    """Why ``key`` names no order of the account: unknown, or a supplier_order_number given by mistake."""
    if (supplier_number := as_id(key)) is not None:
        number = repository.order_number_owner(sql, account_id, supplier_number)
        if number is not None:
            return [
                Problem(
                    "order_id",
                    Code.SUPPLIER_ORDER_NUMBER_GIVEN,
                    f"{key} is the supplier_order_number of your order '{number}'; give your own order id "
                    f"('{number}') as order_id.",
                )
            ]
    return [Problem("order_id", Code.ORDER_NOT_FOUND, f"No order with id '{key}' exists in your account.")]


def _sort(problems: list[Problem], body: dict[str, Any]) -> list[Problem]:
    """Problems in the order of the body's fields, so the answer reads like the request."""
    fields = list(body)

    def rank(problem: Problem) -> tuple[int, str]:
        top = problem.loc.split(".", 1)[0]
        return (fields.index(top) if top in fields else len(fields), problem.loc)

    return sorted(problems, key=rank)


def _replay(ticket: repository.TicketRow, digest: str) -> Filed:
    if ticket.body_hash != digest:
        raise Conflict(
            f"Ticket '{ticket.external_id}' already exists with a different body; use a new id for a new ticket.",
            extra={"ticket": {"id": ticket.external_id, "number": ticket.id, "status": ticket.status}},
        )
    return Filed(ticket.id, created=False, view=None)


def _check_grouping(sql: Sql, lines: repository.Lines, parsed: TicketIn) -> None:
    """One reason per product in unsolved tickets: a second one is a 409 naming the first."""
    held = []
    for index, line in enumerate(parsed.products):
        holder = lines.holders.get(lines.facts.lines[product_key(line.id)].line_id)
        if holder is not None:
            held.append((holder, index))
    if not held:
        return
    number, index = min(held)  # the oldest such ticket, at its first product in the body
    ticket = repository.ticket_by_number(sql, number)
    product = parsed.products[index].id
    raise Conflict(
        f"Product {product} is already in unsolved ticket '{ticket.external_id}' with reason "
        f"'{parsed.reason.value}'; add to that ticket instead.",
        problems=[
            Problem(
                f"products.{index}.id", Code.TICKET_EXISTS, f"Product {product} is in ticket '{ticket.external_id}'."
            )
        ],
        extra={"ticket": {"id": ticket.external_id, "number": ticket.id, "status": ticket.status}},
    )


@dataclass(frozen=True)
class Filed:
    """The outcome of POST /tickets: the ticket's number, whether it is new, and (when new) the reseller's
    view of it. A replay's view is read after the unit of work, outside the serialized part."""

    number: int
    created: bool
    view: dict[str, Any] | None


def file_ticket(sql: Sql, actor: Actor, draft: Draft) -> Filed:
    """Every rule at once (422), then the grouping rule (409), then the ticket is stored with its files, its
    history, its event and their jobs. The same id and body again is the ticket filed before (``created``
    False)."""
    filed = _intake(sql, actor, draft, store=True)
    assert filed is not None
    return filed


def check_ticket(sql: Sql, actor: Actor, draft: Draft) -> None:
    """What file_ticket would answer, storing nothing (POST /tickets/validate)."""
    _intake(sql, actor, draft, store=False)


def _intake(sql: Sql, actor: Actor, draft: Draft, *, store: bool) -> Filed | None:
    assert actor.id is not None
    body = draft.body
    if not isinstance(body, dict):
        raise ValidationFailed(draft.problems)
    key = _order_key(body)
    # Lock the order first (PostgreSQL), so that concurrent tickets on it queue here and each sees the
    # others' ids and claimed amounts.
    order = repository.find_order(sql, actor.id, key, lock=store) if key is not None else None
    external_id = _external_id(body)
    if external_id is not None:
        existing = repository.find_ticket(sql, actor.id, external_id)
        if existing is not None:
            filed = _replay(existing, draft.digest)
            return filed if store else None
    problems = draft.problems
    parsed = draft.parsed
    lines: repository.Lines | None = None
    if key is not None:
        if order is None:
            problems = [p for p in problems if p.loc != "order_id"] + _order_problems(sql, actor.id, key)
        else:
            reason = parsed.reason.value if parsed is not None else None
            lines = repository.order_lines(sql, order, named_products(body), reason)
    facts = lines.facts if lines is not None else None
    problems = problems + product_line_problems(body, facts) + contact_problems(body, facts)
    if problems or parsed is None or order is None or lines is None:
        raise ValidationFailed(_sort(problems, body))
    _check_grouping(sql, lines, parsed)
    if not store:
        return None
    return _store(sql, actor, order=order, facts=lines.facts, parsed=parsed, digest=draft.digest)


def _store(
    sql: Sql, actor: Actor, *, order: repository.OrderRow, facts: OrderFacts, parsed: TicketIn, digest: str
) -> Filed:
    assert actor.id is not None
    now = utcnow()
    related = Related(orders={order.id: order.external_id})
    lines = []
    for position, line in enumerate(parsed.products):
        order_line = facts.lines[product_key(line.id)]
        related.lines[order_line.line_id] = (order_line.ref, order_line.code)
        files = [repository.NewFile(uri=f.uri, position=i) for i, f in enumerate(line.files or [])]
        lines.append(
            repository.NewLine(order_product_id=order_line.line_id, position=position, amount=line.amount, files=files)
        )
    ticket = repository.NewTicket(
        account_id=actor.id,
        order_id=order.id,
        external_id=parsed.id,
        description=parsed.description,
        reason=parsed.reason.value,
        suggested_solution=parsed.suggested_solution.value,
        contact_email=parsed.contact_email,
        body_hash=digest,
        created_at=now,
        products=lines,
    )
    file_ids = repository.insert_ticket(sql, ticket)
    created = repository.NewHistory(
        ticket_id=ticket.id,
        action="created",
        status=ticket.status,
        by_type=actor.type.value,
        by_id=actor.id,
        by_name=actor.name,
        at=now,
    )
    repository.insert_history(sql, created)
    # Everything the view shows is what was just written: it is built from the rows, not read back.
    for line_row in lines:
        related.line_files[line_row.id] = list(line_row.files)
    related.history[ticket.id] = [created]
    view = render(ticket, related, Audience.RESELLER)
    # The event's snapshot is exactly what the reseller sees now: the answer reuses it.
    event_id = repository.insert_event(
        sql,
        account_id=actor.id,
        ticket_id=ticket.id,
        event_type=EventType.TICKET_CREATED.value,
        sequence=1,
        view=view,
        now=now,
    )
    repository.enqueue(sql, [(FETCH_FILE_JOB, file_id) for file_id in file_ids] + [(DISPATCH_JOB, event_id)], now)
    return Filed(ticket.id, created=True, view=view)


_TICKET_BY_ID = sa.select(Ticket).where(
    Ticket.account_id == sa.bindparam("account_id"), Ticket.external_id == sa.bindparam("external_id")
)


def reseller_view(session: Session, number: int) -> dict[str, Any]:
    """The reseller's view of the ticket with this number."""
    ticket = session.get(Ticket, number)
    assert ticket is not None
    return ticket_view(session, ticket, Audience.RESELLER)


def get_ticket(session: Session, account_id: int, external_id: str) -> Ticket:
    ticket = (
        session.scalar(_TICKET_BY_ID, {"account_id": account_id, "external_id": external_id})
        if is_clean_text(external_id)
        else None
    )
    if ticket is None:
        raise NotFound(f"Ticket '{external_id}' not found.")
    return ticket


@dataclass(frozen=True)
class TicketFilter:
    status: TicketStatus | None = None
    reason: Reason | None = None
    order_id: str | None = None
    updated_since: dt.datetime | None = None
    account_id: int | None = None
    assignee: int | str | None = None  # a staff id, or "none"


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        before = data["before"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    return before if isinstance(before, int) and not isinstance(before, bool) and before > 0 else None


def parse_list_query(
    *,
    status: str | None,
    reason: str | None,
    order_id: str | None,
    updated_since: str | None,
    limit: str | None,
    cursor: str | None,
) -> tuple[TicketFilter, int, int | None]:
    """The list filters from query strings, every mistake reported at its parameter's name."""
    problems = []
    status_value = reason_value = since = None
    if status is not None:
        try:
            status_value = TicketStatus(status)
        except ValueError:
            choices = ", ".join(s.value for s in TicketStatus)
            problems.append(Problem("status", Code.INVALID_CHOICE, f"status must be one of {choices}."))
    if reason is not None:
        try:
            reason_value = Reason(reason)
        except ValueError:
            problems.append(Problem("reason", Code.INVALID_CHOICE, "reason must be one of the values of GET /reasons."))
    if updated_since is not None:
        since = parse_rfc3339(updated_since)
        if since is None:
            problems.append(
                Problem(
                    "updated_since",
                    Code.INVALID_TYPE,
                    "updated_since must be an RFC 3339 time, like 2026-01-31T12:00:00Z.",
                )
            )
    if order_id is not None and not is_clean_text(order_id):
        problems.append(Problem("order_id", Code.INVALID_TEXT, "order_id contains NUL or other control characters."))
    size = page_size(limit, problems)
    before = None
    if cursor is not None:
        before = decode_cursor(cursor)
        if before is None:
            problems.append(Problem("cursor", Code.INVALID_TYPE, "cursor is not one this service gave out."))
    if problems:
        raise ValidationFailed(problems)
    return TicketFilter(status=status_value, reason=reason_value, order_id=order_id, updated_since=since), size, before


def list_tickets(
    session: Session, filters: TicketFilter, limit: int, before: int | None
) -> tuple[list[Ticket], str | None]:
    """Newest first. The cursor is the last number shown: new tickets get higher numbers, so a page
    never shows a ticket twice or skips one while tickets are being added."""
    query = filtered_tickets(filters).order_by(Ticket.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(Ticket.id < before)
    tickets = list(session.scalars(query))
    next_cursor = encode_cursor(tickets[limit - 1].id) if len(tickets) > limit else None
    return tickets[:limit], next_cursor


def filtered_tickets(filters: TicketFilter) -> sa.Select[Ticket]:
    """The tickets matching ``filters``, in no particular order."""
    query = sa.select(Ticket)
    if filters.account_id is not None:
        query = query.where(Ticket.account_id == filters.account_id)
    if filters.status is not None:
        query = query.where(Ticket.status == filters.status.value)
    if filters.reason is not None:
        query = query.where(Ticket.reason == filters.reason.value)
    if filters.order_id is not None:
        query = query.join(Order, Order.id == Ticket.order_id).where(Order.external_id == filters.order_id)
    if filters.updated_since is not None:
        query = query.where(Ticket.updated_at >= filters.updated_since)
    if filters.assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif isinstance(filters.assignee, int):
        query = query.where(Ticket.assignee_id == filters.assignee)
    return query
