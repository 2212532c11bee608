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
from claimdesk.events.service import EventType, record_event
from claimdesk.exceptions import Conflict, NotFound, ValidationFailed
from claimdesk.jobs import enqueue_many
from claimdesk.models import EvidenceFile, HistoryEntry, Order, Ticket, TicketProduct, utcnow
from claimdesk.netguard import url_problems
from claimdesk.orders.service import find_order, order_facts
from claimdesk.rules.catalogue import Reason
from claimdesk.rules.fields import is_clean_text, product_key
from claimdesk.rules.problems import Problem
from claimdesk.rules.statuses import TicketStatus
from claimdesk.rules.tickets import OrderFacts, contact_problems, named_products, product_line_problems
from claimdesk.tickets.presenter import Audience, Related, render, ticket_view
from claimdesk.timefmt import parse_rfc3339
from claimdesk.validation import page_size, parse

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


@dataclass
class Intake:
    """A checked ticket body and the order it is about, ready to be stored."""

    parsed: TicketIn
    order: Order
    facts: OrderFacts


def _order_problems(session: Session, account_id: int, key: str) -> list[Problem]:
    """Why ``key`` names no order of the account: unknown, or a supplier_order_number given by mistake."""
    if key.isdigit() and len(key) <= 18:
        number = session.scalar(
            sa.select(Order.external_id).where(Order.account_id == account_id, Order.id == int(key))
        )
        if number is not None:
            return [
                Problem(
                    "order_id",
                    "supplier_order_number_given",
                    f"{key} is the supplier_order_number of your order '{number}'; give your own order id "
                    f"('{number}') as order_id.",
                )
            ]
    return [Problem("order_id", "order_not_found", f"No order with id '{key}' exists in your account.")]


def _sort(problems: list[Problem], body: dict[str, Any]) -> list[Problem]:
    """Problems in the order of the body's fields, so the answer reads like the request."""
    fields = list(body)

    def rank(problem: Problem) -> tuple[int, str]:
        top = problem.loc.split(".", 1)[0]
        return (fields.index(top) if top in fields else len(fields), problem.loc)

    return sorted(problems, key=rank)


def check_ticket(
    session: Session,
    actor: Actor,
    body: Any,
    *,
    allow_private_urls: bool,
    lock: bool,
    known: tuple[str, Order | None] | None = None,
) -> Intake:
    """Every 422 rule at once, then the grouping rule (409). Raises, or returns what to store.

    ``known`` is an order already looked up (and locked) for its key, so it is not read twice.
    """
    assert actor.id is not None
    parsed, problems = parse(TicketIn, body)
    if not isinstance(body, dict):
        raise ValidationFailed(problems)
    order: Order | None = None
    facts: OrderFacts | None = None
    key = _order_key(body)
    if key is not None:
        if known is not None and known[0] == key:
            order = known[1]
        else:
            order = find_order(session, actor.id, key, for_update=lock)
        if order is None:
            problems = [p for p in problems if p.loc != "order_id"] + _order_problems(session, actor.id, key)
        else:
            facts = order_facts(session, order, named_products(body))
    problems += product_line_problems(body, facts)
    problems += contact_problems(body, facts)
    if parsed is not None:
        uris = [
            (f"products.{i}.files.{j}.uri", f.uri)
            for i, line in enumerate(parsed.products)
            for j, f in enumerate(line.files or [])
        ]
        problems += url_problems(uris, allow_private=allow_private_urls)
    if problems or parsed is None or order is None or facts is None:
        raise ValidationFailed(_sort(problems, body))
    _check_grouping(session, order, facts, parsed)
    return Intake(parsed, order, facts)


def _check_grouping(session: Session, order: Order, facts: OrderFacts, parsed: TicketIn) -> None:
    """One reason per product in unsolved tickets: a second one is a 409 naming the first."""
    wanted = {facts.lines[product_key(line.id)].line_id: index for index, line in enumerate(parsed.products)}
    row = session.execute(
        _SAME_REASON, {"order_id": order.id, "reason": parsed.reason.value, "lines": list(wanted)}
    ).first()
    if row is not None:
        index = wanted[row.order_product_id]
        product = parsed.products[index].id
        raise Conflict(
            f"Product {product} is already in unsolved ticket '{row.external_id}' with reason "
            f"'{parsed.reason.value}'; add to that ticket instead.",
            problems=[
                Problem(f"products.{index}.id", "ticket_exists", f"Product {product} is in ticket '{row.external_id}'.")
            ],
            extra={"ticket": {"id": row.external_id, "number": row.id, "status": row.status}},
        )


_TICKET_BY_ID = sa.select(Ticket).where(
    Ticket.account_id == sa.bindparam("account_id"), Ticket.external_id == sa.bindparam("external_id")
)
# The first unsolved ticket of a reason that claims one of the given order lines (built once: see orders.service).
_SAME_REASON = (
    sa.select(Ticket.external_id, Ticket.id, Ticket.status, TicketProduct.order_product_id)
    .join(TicketProduct, TicketProduct.ticket_id == Ticket.id)
    .where(
        Ticket.order_id == sa.bindparam("order_id"),
        Ticket.reason == sa.bindparam("reason"),
        Ticket.status != TicketStatus.SOLVED.value,
        TicketProduct.order_product_id.in_(sa.bindparam("lines", expanding=True)),
    )
    .order_by(Ticket.id)
    .limit(1)
)


def _existing(session: Session, account_id: int, external_id: str) -> Ticket | None:
    ticket: Ticket | None = session.scalar(_TICKET_BY_ID, {"account_id": account_id, "external_id": external_id})
    return ticket


def _replay(ticket: Ticket, body: Any) -> Ticket:
    if ticket.body_hash != body_hash(body):
        raise Conflict(
            f"Ticket '{ticket.external_id}' already exists with a different body; use a new id for a new ticket.",
            extra={"ticket": {"id": ticket.external_id, "number": ticket.id, "status": ticket.status}},
        )
    return ticket


@dataclass(frozen=True)
class Filed:
    """The outcome of POST /tickets: the ticket, whether it is new, and the reseller's view of it."""

    ticket: Ticket
    created: bool
    view: dict[str, Any]


def create_ticket(session: Session, actor: Actor, body: Any, *, allow_private_urls: bool) -> Filed:
    """File a ticket, or find the one filed before with the same id and body (``created`` False)."""
    assert actor.id is not None
    external_id = _external_id(body)
    known = None
    if external_id is not None and isinstance(body, dict):
        # Lock the order first (PostgreSQL), so that concurrent tickets on it queue here and each sees
        # the others' ids and claimed amounts.
        key = _order_key(body)
        if key is not None:
            known = (key, find_order(session, actor.id, key, for_update=True))
        existing = _existing(session, actor.id, external_id)
        if existing is not None:
            ticket = _replay(existing, body)
            return Filed(ticket, created=False, view=ticket_view(session, ticket, Audience.RESELLER))
    intake = check_ticket(session, actor, body, allow_private_urls=allow_private_urls, lock=False, known=known)
    ticket, view = _store(session, actor, intake, body_hash(body))
    # The event's snapshot is exactly what the reseller sees now: the answer reuses it.
    return Filed(ticket, created=True, view=view)


def _store(session: Session, actor: Actor, intake: Intake, digest: str) -> tuple[Ticket, dict[str, Any]]:
    parsed, order, lines = intake.parsed, intake.order, intake.facts.lines
    now = utcnow()
    ticket = Ticket(
        account_id=order.account_id,
        order_id=order.id,
        external_id=parsed.id,
        description=parsed.description,
        reason=parsed.reason.value,
        suggested_solution=parsed.suggested_solution.value,
        contact_email=parsed.contact_email,
        status=TicketStatus.OPEN.value,
        body_hash=digest,
        created_at=now,
        updated_at=now,
        waiting_since=now,
    )
    ticket.products = [
        TicketProduct(position=index, order_product_id=lines[product_key(line.id)].line_id, amount=line.amount)
        for index, line in enumerate(parsed.products)
    ]
    session.add(ticket)
    session.flush()
    # Everything the view shows was just written: it is built from memory, not read back.
    related = Related(
        orders={order.id: order.external_id}, lines={line.line_id: (line.ref, line.code) for line in lines.values()}
    )
    for product, line in zip(ticket.products, parsed.products, strict=True):
        related.line_files[product.id] = add_evidence_files(
            session, ticket.id, [file.uri for file in line.files or []], ticket_product_id=product.id
        )
    created = HistoryEntry(
        ticket_id=ticket.id,
        action="created",
        status=TicketStatus.OPEN.value,
        details={},
        by_type=actor.type.value,
        by_id=actor.id,
        by_name=actor.name,
        at=now,
    )
    session.add(created)
    related.history[ticket.id] = [created]
    view = render(ticket, related, Audience.RESELLER)
    record_event(session, ticket, EventType.TICKET_CREATED, view=view)
    return ticket, view


def validate_ticket(session: Session, actor: Actor, body: Any, *, allow_private_urls: bool) -> None:
    """What POST /tickets would answer, storing nothing."""
    external_id = _external_id(body)
    if external_id is not None and actor.id is not None:
        existing = _existing(session, actor.id, external_id)
        if existing is not None:
            _replay(existing, body)
            return
    check_ticket(session, actor, body, allow_private_urls=allow_private_urls, lock=False)


def get_ticket(session: Session, account_id: int, external_id: str) -> Ticket:
    ticket = _existing(session, account_id, external_id) if is_clean_text(external_id) else None
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
            problems.append(Problem("status", "invalid_choice", f"status must be one of {choices}."))
    if reason is not None:
        try:
            reason_value = Reason(reason)
        except ValueError:
            problems.append(Problem("reason", "invalid_choice", "reason must be one of the values of GET /reasons."))
    if updated_since is not None:
        since = parse_rfc3339(updated_since)
        if since is None:
            problems.append(
                Problem(
                    "updated_since",
                    "invalid_type",
                    "updated_since must be an RFC 3339 time, like 2026-01-31T12:00:00Z.",
                )
            )
    if order_id is not None and not is_clean_text(order_id):
        problems.append(Problem("order_id", "invalid_text", "order_id contains NUL or other control characters."))
    size = page_size(limit, problems)
    before = None
    if cursor is not None:
        before = decode_cursor(cursor)
        if before is None:
            problems.append(Problem("cursor", "invalid_type", "cursor is not one this service gave out."))
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
