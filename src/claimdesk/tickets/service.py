"""Filing tickets and reading them: every rule of the guide, checked at the door."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.accounts.service import Actor
from claimdesk.exceptions import Conflict, ValidationFailed
from claimdesk.jobs import JobName, enqueue_many
from claimdesk.models import FILE_PENDING, EvidenceFile, Ticket, utcnow
from claimdesk.models.rows import file_row
from claimdesk.netguard import url_problems_async
from claimdesk.rawdb import Sql
from claimdesk.rules.catalogue import Reason
from claimdesk.rules.codes import Code
from claimdesk.rules.events import EventType
from claimdesk.rules.fields import as_id, is_clean_text, product_key
from claimdesk.rules.problems import Problem
from claimdesk.rules.tickets import contact_problems, named_products, product_line_problems
from claimdesk.tickets.presenter import Audience, Related, render, ticket_view
from claimdesk.validation import parse

from . import repository
from .schemas import TicketIn

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
        file_row(ticket_id, position, uri, now, ticket_product_id=ticket_product_id, message_id=message_id)
        for position, uri in enumerate(uris)
    ]
    # A plain INSERT ... RETURNING of the ids, skipping the unit of work. The objects handed back are for
    # showing the files (in the state the database gave them), not attached to the session.
    ids = session.execute(_INSERT_FILES, rows).scalars().all()
    enqueue_many(session, JobName.FETCH_FILE, ids)
    return [EvidenceFile(id=file_id, state=FILE_PENDING, **row) for file_id, row in zip(ids, rows, strict=True)]


def body_hash(body: Any) -> str:
    """The same JSON whatever its key order or spacing gives the same hash."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def ticket_body_hash(body: Any) -> str:
    """``body_hash`` of a body that parsed as a ticket (``TicketIn``), at a quarter of the cost.

    orjson writes the same text as ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    for every value without a float: every character, every integer to 64 bits, the same key order
    (tests/tickets/test_body_hash.py); what it refuses (an integer past 64 bits) is written by ``json``. A
    float it may spell otherwise (1e-07 as 1e-7, infinity as null), but a ticket holds none: every field of
    ``TicketIn`` refuses one, and it refuses fields it does not know. A body that did not parse may hold
    one, so it is hashed by ``body_hash``.
    """
    try:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return body_hash(body)
    return hashlib.sha256(canonical).hexdigest()


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


# Files uploaded with a ticket, by the index of their product line in the body: each its original name and
# its content, already checked and stored (``files.service.store``).
Evidence = Mapping[int, Sequence[tuple[str | None, repository.StoredContentLike]]]
NO_EVIDENCE: Evidence = types.MappingProxyType({})


@dataclass(frozen=True)
class Draft:
    """A ticket body checked as far as it can be without the database: done before the unit of work, so
    that the serialized part of intake is only the part that needs the order. ``evidence``: files uploaded
    with it (the portal's form), which count as the files of their lines."""

    body: Any
    parsed: TicketIn | None
    problems: list[Problem]
    digest: str
    evidence: Evidence = field(default_factory=lambda: NO_EVIDENCE)


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
    return Draft(body, parsed, problems, body_hash(body) if parsed is None else ticket_body_hash(body))


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


def _replay(sql: Sql, account_id: int, body: dict[str, Any], digest: str) -> Filed | None:
    """The ticket filed before with the body's id, if any: the same body again is that ticket (a retry),
    another body under its id a 409."""
    external_id = _external_id(body)
    ticket = repository.find_ticket(sql, account_id, external_id) if external_id is not None else None
    if ticket is None:
        return None
    if ticket.body_hash != digest:
        raise Conflict(
            f"Ticket '{ticket.external_id}' already exists with a different body; use a new id for a new ticket.",
            extra={"ticket": {"id": ticket.external_id, "number": ticket.id, "status": ticket.status}},
        )
    return Filed(ticket.id, created=False, view=None)


class _Valid(NamedTuple):
    """A ticket that broke no rule, with the order and the order lines it names."""

    parsed: TicketIn
    order: repository.OrderRow
    lines: repository.Lines
    evidence: Evidence = NO_EVIDENCE


def _given_reason(body: dict[str, Any]) -> str | None:
    """The body's reason, when it is one (for a body that failed to parse as a whole)."""
    value = body.get("reason")
    try:
        return Reason(value).value if isinstance(value, str) else None
    except ValueError:
        return None


def _rule_problems(
    sql: Sql, account_id: int, draft: Draft, key: str | None, order: repository.OrderRow | None
) -> tuple[list[Problem], repository.Lines | None]:
    """Every rule of the guide at once: what the draft found, the order's and its lines' (unsorted), and the
    order's lines the body names."""
    body = draft.body
    problems = draft.problems
    lines: repository.Lines | None = None
    if key is not None:
        if order is None:
            problems = [p for p in problems if p.loc != "order_id"] + _order_problems(sql, account_id, key)
        else:
            reason = draft.parsed.reason.value if draft.parsed is not None else _given_reason(body)
            lines = repository.order_lines(sql, order, named_products(body), reason)
    facts = lines.facts if lines is not None else None
    problems = problems + product_line_problems(body, facts, uploaded=draft.evidence) + contact_problems(body, facts)
    return problems, lines


def _check_rules(sql: Sql, account_id: int, draft: Draft, key: str | None, order: repository.OrderRow | None) -> _Valid:
    """Every rule of the guide at once (a 422 listing every mistake, in the order of the body's fields)."""
    problems, lines = _rule_problems(sql, account_id, draft, key, order)
    if problems or draft.parsed is None or order is None or lines is None:
        raise ValidationFailed(_sort(problems, draft.body))
    return _Valid(draft.parsed, order, lines, draft.evidence)


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
    raise grouping_conflict(
        repository.ticket_by_number(sql, number),
        index,
        parsed.products[index].id,
        parsed.reason.value,
        advice="add to that ticket instead",
    )


class HeldTicket(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def external_id(self) -> str: ...
    @property
    def status(self) -> str: ...


def grouping_conflict(holder: HeldTicket, index: int, product: int | str, reason: str, *, advice: str) -> Conflict:
    """The grouping rule's 409 (one reason per product in unsolved tickets), naming the ticket that holds the
    product: the same answer for a new ticket (intake) and for a ticket reopened (``tickets.lifecycle``)."""
    return Conflict(
        f"Product {product} is already in unsolved ticket '{holder.external_id}' with reason '{reason}'; {advice}.",
        problems=[ticket_exists(index, product, holder)],
        extra={"ticket": {"id": holder.external_id, "number": holder.id, "status": holder.status}},
    )


def ticket_exists(index: int, product: int | str, holder: HeldTicket) -> Problem:
    """The grouping rule's problem at the product line that an unsolved ticket with the reason holds."""
    return Problem(
        f"products.{index}.id", Code.TICKET_EXISTS, f"Product {product} is in ticket '{holder.external_id}'."
    )


@dataclass(frozen=True)
class Filed:
    """The outcome of POST /tickets: the ticket's number, whether it is new, and (when new) the reseller's
    view of it. A replay's view is read after the unit of work, outside the serialized part."""

    number: int
    created: bool
    view: dict[str, Any] | None
    view_json: str | None = None  # the view as JSON text, as the ticket's first event stores it


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
    replay = _replay(sql, actor.id, body, draft.digest)
    if replay is not None:
        return replay if store else None
    valid = _check_rules(sql, actor.id, draft, key, order)
    _check_grouping(sql, valid.lines, valid.parsed)
    if not store:
        return None
    return _store(sql, actor, valid, draft.digest)


def _new_ticket(
    account_id: int, valid: _Valid, digest: str, now: dt.datetime, related: Related
) -> repository.NewTicket:
    """The rows of the ticket to write, with its lines and files; ``related`` learns the order lines."""
    parsed, facts = valid.parsed, valid.lines.facts
    lines = []
    for position, line in enumerate(parsed.products):
        order_line = facts.lines[product_key(line.id)]
        related.lines[order_line.line_id] = (order_line.ref, order_line.code)
        files = [repository.NewFile(uri=f.uri, position=i) for i, f in enumerate(line.files or [])]
        uploaded = valid.evidence.get(position)
        if uploaded:
            files += [
                repository.stored_file(len(files) + i, filename, content)
                for i, (filename, content) in enumerate(uploaded)
            ]
        lines.append(
            repository.NewLine(order_product_id=order_line.line_id, position=position, amount=line.amount, files=files)
        )
    return repository.NewTicket(
        account_id=account_id,
        order_id=valid.order.id,
        external_id=parsed.id,
        description=parsed.description,
        reason=parsed.reason.value,
        suggested_solution=parsed.suggested_solution.value,
        contact_email=parsed.contact_email,
        body_hash=digest,
        created_at=now,
        products=lines,
    )


def _store(sql: Sql, actor: Actor, valid: _Valid, digest: str) -> Filed:
    """The ticket with its files, its history, its event and their jobs; the answer is its view."""
    assert actor.id is not None
    now = utcnow()
    related = Related(orders={valid.order.id: valid.order.external_id})
    ticket = _new_ticket(actor.id, valid, digest, now, related)
    file_ids = repository.insert_ticket(sql, ticket)
    created = repository.insert_history(sql, ticket.id, "created", status=ticket.status, by=actor.stamp, at=now)
    # Everything the view shows is what was just written: it is built from the rows, not read back.
    for line in ticket.products:
        related.line_files[line.id] = list(line.files)
    related.history[ticket.id] = [created]
    view = render(ticket, related, Audience.RESELLER)
    # The event's snapshot is exactly what the reseller sees now: the answer reuses it, JSON text and all.
    view_json = sql.json(view)
    event_id = repository.insert_event(
        sql,
        account_id=actor.id,
        ticket_id=ticket.id,
        event_type=EventType.TICKET_CREATED.value,
        sequence=repository.FIRST_EVENT,
        ticket=view_json,
        now=now,
    )
    jobs = [(JobName.FETCH_FILE.value, file_id) for file_id in file_ids]
    repository.enqueue(sql, [*jobs, (JobName.DISPATCH_EVENT.value, event_id)], now)
    return Filed(ticket.id, created=True, view=view, view_json=view_json)


# --- several tickets at once (the portal's report form) ---


@dataclass(frozen=True)
class Refusal:
    """One problem of one draft of a batch; ``holder`` is the unsolved ticket a ``ticket_exists`` names."""

    draft: int
    problem: Problem
    holder: repository.TicketRow | None = None


class FilingRefused(ValidationFailed):
    """Drafts of a batch break rules: every problem of every draft (the 422s and the grouping rule's 409
    alike), each with the draft it belongs to. Nothing was stored."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        super().__init__([r.problem for r in refusals])
        self.refusals = list(refusals)


def _held(sql: Sql, body: dict[str, Any], lines: repository.Lines) -> list[tuple[Problem, repository.TicketRow]]:
    """The grouping rule, for every line of the body an unsolved ticket with its reason holds."""
    products = body.get("products")
    held = []
    for index, line in enumerate(products if isinstance(products, list) else []):
        key = _lookup_key(line.get("id")) if isinstance(line, dict) else None
        order_line = lines.facts.lines.get(key) if key is not None else None
        number = lines.holders.get(order_line.line_id) if order_line is not None else None
        if order_line is not None and number is not None:
            holder = repository.ticket_by_number(sql, number)
            held.append((ticket_exists(index, order_line.ref, holder), holder))
    return held


def _named_twice(body: dict[str, Any], lines: repository.Lines | None, named: dict[int, int]) -> list[Problem]:
    """A product line already in another draft of the batch: each of the batch's tickets is checked against
    what is stored, so two of them on one line could together claim more than it has."""
    products = body.get("products")
    if lines is None or not isinstance(products, list):
        return []
    problems = []
    for index, line in enumerate(products):
        key = _lookup_key(line.get("id")) if isinstance(line, dict) else None
        order_line = lines.facts.lines.get(key) if key is not None else None
        if order_line is None:
            continue
        if order_line.line_id in named:
            problems.append(
                Problem(
                    f"products.{index}.id",
                    Code.DUPLICATE_PRODUCT,
                    f"Product {order_line.ref} is already in another ticket filed with this one.",
                )
            )
        else:
            named[order_line.line_id] = index
    return problems


def file_tickets(sql: Sql, actor: Actor, drafts: Sequence[Draft], *, store: bool = True) -> list[Filed]:
    """New tickets, all or none, through the same intake as ``file_ticket``: every draft is checked (every
    rule, then the grouping rule) before any is stored, and ``FilingRefused`` lists the problems of them all.
    Then each is stored with its files (uploaded ones included), history, event and jobs, in this one unit
    of work. A draft whose id names a ticket already filed is a 409: a batch makes new tickets only.
    ``store`` False checks the same and stores nothing (returns no tickets)."""
    assert actor.id is not None
    refusals: list[Refusal] = []
    valid: list[tuple[_Valid, Draft]] = []
    named: dict[int, int] = {}  # order line id -> its index in the draft that names it first
    for number, draft in enumerate(drafts):
        body = draft.body
        if not isinstance(body, dict):
            refusals += [Refusal(number, p) for p in draft.problems]
            continue
        key = _order_key(body)
        order = repository.find_order(sql, actor.id, key, lock=store) if key is not None else None
        if _replay(sql, actor.id, body, draft.digest) is not None:
            raise Conflict(f"Ticket '{_external_id(body)}' was filed before; a new ticket needs a new id.")
        problems, lines = _rule_problems(sql, actor.id, draft, key, order)
        problems = _sort(problems + _named_twice(body, lines, named), body)
        refusals += [Refusal(number, p) for p in problems]
        held = _held(sql, body, lines) if lines is not None else []
        refusals += [Refusal(number, problem, holder) for problem, holder in held]
        if not problems and not held and draft.parsed is not None and order is not None and lines is not None:
            valid.append((_Valid(draft.parsed, order, lines, draft.evidence), draft))
    if refusals:
        raise FilingRefused(refusals)
    if not drafts:
        raise ValidationFailed([Problem("products", Code.TOO_FEW, "Give at least one product line to complain about.")])
    if not store:
        return []
    return [_store(sql, actor, checked, draft.digest) for checked, draft in valid]


def reseller_view(session: Session, number: int) -> dict[str, Any]:
    """The reseller's view of the ticket with this number."""
    ticket = session.get(Ticket, number)
    assert ticket is not None
    return ticket_view(session, ticket, Audience.RESELLER)
