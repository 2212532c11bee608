"""A ticket's life after intake: status changes, resolution, the conversation and assignment.

Every change locks the ticket row first (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite serializes writers),
re-checks the state it depends on, bumps ``Ticket.version``, writes a history entry and, where the reseller
can see the change, its event, all in the caller's unit of work. So two agents changing one ticket at once
cannot both act on the state they read: the second sees the first's change and gets a 409.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.accounts.service import Actor
from claimdesk.events.service import record_event
from claimdesk.exceptions import Conflict, ValidationFailed
from claimdesk.models import HistoryEntry, Message, Order, OrderProduct, Staff, Ticket, utcnow
from claimdesk.models.rows import history_row
from claimdesk.netguard import url_problems
from claimdesk.orders.ledger import unsolved_holder
from claimdesk.orders.service import order_facts
from claimdesk.rules.codes import Code
from claimdesk.rules.events import EventType
from claimdesk.rules.problems import Problem
from claimdesk.rules.resolution import Grant, grant_problems, granted_amounts
from claimdesk.rules.statuses import Outcome, TicketStatus
from claimdesk.validation import parse, parse_or_raise

from .lookup import numbered_ticket, reseller_ticket
from .presenter import Audience, ticket_view
from .schemas import AssignIn, MessageIn, StaffMessageIn, StatusChangeIn
from .service import add_evidence_files, grouping_conflict


def record_ticket_event(session: Session, ticket: Ticket, event_type: EventType) -> int:
    """The ticket's next event, carrying what its reseller sees of it now (changes flushed first)."""
    session.flush()
    return record_event(session, ticket, event_type, ticket_view(session, ticket, Audience.RESELLER))


def _history(
    session: Session, ticket: Ticket, actor: Actor, action: str, at: dt.datetime, **details: Any
) -> HistoryEntry:
    entry = HistoryEntry(**history_row(ticket.id, action, ticket.status, actor.stamp, at), details=details)
    session.add(entry)
    return entry


def _add_message(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    body: str,
    at: dt.datetime,
    *,
    internal: bool = False,
    uris: Sequence[str] = (),
) -> Message:
    message = Message(ticket_id=ticket.id, body=body, internal=internal, created_at=at, **actor.stamp)
    session.add(message)
    session.flush()
    add_evidence_files(session, ticket.id, uris, message_id=message.id)
    return message


def _touch(ticket: Ticket, at: dt.datetime, *, visible: bool) -> None:
    """Every change bumps the version; ``updated_at`` moves only for what the reseller can see."""
    ticket.version += 1
    if visible:
        ticket.updated_at = at


def _move(ticket: Ticket, to: TicketStatus, at: dt.datetime) -> None:
    ticket.status = to.value
    if not to.waits_for_supplier:
        ticket.waiting_since = None
    elif ticket.waiting_since is None:  # back in the queue: it waits from now on
        ticket.waiting_since = at


def _file_problems(files: Sequence[Any] | None, *, allow_private_urls: bool) -> tuple[list[str], list[Problem]]:
    uris = [f.uri for f in files or []]
    problems = url_problems([(f"files.{i}.uri", uri) for i, uri in enumerate(uris)], allow_private=allow_private_urls)
    return uris, problems


def _closed(ticket: Ticket) -> Conflict:
    return Conflict(
        f"Ticket '{ticket.external_id}' is solved; no messages can be added until it is reopened.",
        extra={"ticket": {"id": ticket.external_id, "number": ticket.id, "status": ticket.status}},
    )


# --- status changes -------------------------------------------------------------------------------


def _ticket_lines(session: Session, ticket: Ticket) -> list[tuple[OrderProduct, int]]:
    """The ticket's product lines: the order line and how many items of it the ticket claims."""
    ids = [p.order_product_id for p in ticket.products]
    lines = {p.id: p for p in session.scalars(sa.select(OrderProduct).where(OrderProduct.id.in_(ids)))}
    return [(lines[p.order_product_id], p.amount) for p in ticket.products]


def _resolution(
    session: Session, ticket: Ticket, change: StatusChangeIn
) -> tuple[dict[str, Any] | None, dict[str, int | None], list[Problem]]:
    """The resolution to store, the granted amount per order line key, and what is wrong with it."""
    if not change.status.is_solved:
        if change.resolution is not None:
            return None, {}, [Problem("resolution", Code.NOT_ALLOWED, "A resolution is only given with status solved.")]
        return None, {}, []
    if change.resolution is None:
        return (
            None,
            {},
            [Problem("resolution", Code.REQUIRED, "Solving a ticket needs a resolution: an outcome and a note.")],
        )
    lines = _ticket_lines(session, ticket)
    claimed = {line.key: amount for line, amount in lines}
    grants = [Grant(g.id, g.granted) for g in change.resolution.products or []]
    problems = grant_problems(change.resolution.outcome, grants, claimed)
    if problems:
        return None, {}, problems
    granted = granted_amounts(change.resolution.outcome, grants, claimed)
    resolution: dict[str, Any] = {"outcome": change.resolution.outcome.value, "note": change.resolution.note}
    if change.resolution.products is not None:
        by_key = {line.key: line for line, _ in lines}
        resolution["products"] = [{"id": by_key[str(g.ref)].ref, "granted": g.granted} for g in grants]
    return resolution, granted, []


def _check_reclaim(session: Session, ticket: Ticket, order: Order) -> None:
    """Reopening a rejected ticket claims its items again: they must still be claimable on the order."""
    facts = order_facts(session, order)  # rejected tickets, this one too, claim nothing
    problems = []
    for index, (line, amount) in enumerate(_ticket_lines(session, ticket)):
        remaining = facts.lines[line.key].claimable
        if amount > remaining:
            problems.append(
                Problem(
                    f"products.{index}.amount",
                    Code.AMOUNT_EXCEEDS_ORDER,
                    f"Product {line.ref}: the ticket claims {amount} items, but only {remaining} can still be "
                    "claimed; other tickets claimed them after this one was rejected.",
                )
            )
    if problems:
        raise Conflict(
            "This rejected ticket cannot be reopened: other tickets have since claimed its items.", problems=problems
        )


def _check_grouping(session: Session, ticket: Ticket) -> None:
    """Reopening makes the ticket unsolved again, so it must keep the grouping rule as intake does: no other
    unsolved ticket may hold one of its products with its reason (409 naming the oldest such ticket)."""
    lines = _ticket_lines(session, ticket)
    # The ticket itself is still solved here, so it is never its own holder.
    query = sa.select(OrderProduct.id, unsolved_holder(OrderProduct.id, ticket.reason)).where(
        OrderProduct.id.in_([line.id for line, _ in lines])
    )
    holders: dict[int, int | None] = dict(session.execute(query).all())
    held = [(holders[line.id], index) for index, (line, _) in enumerate(lines) if holders.get(line.id) is not None]
    if not held:
        return
    number, index = min(held)
    holder = session.get(Ticket, number)
    assert holder is not None
    raise grouping_conflict(
        holder, index, lines[index][0].ref, ticket.reason, advice="this ticket cannot be reopened while that one is"
    )


def _reopen(session: Session, ticket: Ticket) -> dict[str, Any] | None:
    """Take a solved ticket back into work: its items claimed again and its grouping kept, its resolution
    undone. Returns the resolution it had, for the history."""
    # Lock the order like intake does, so a ticket being filed for the same items queues behind us.
    order = session.scalars(sa.select(Order).where(Order.id == ticket.order_id).with_for_update()).one()
    if ticket.outcome is not None and Outcome(ticket.outcome).releases_items:
        _check_reclaim(session, ticket, order)
    _check_grouping(session, ticket)
    previous = ticket.resolution
    ticket.resolution = None
    ticket.outcome = None
    for product in ticket.products:
        product.granted = None
    return previous


def _resolve(session: Session, ticket: Ticket, resolution: dict[str, Any], granted: dict[str, int | None]) -> None:
    ticket.resolution = resolution
    ticket.outcome = resolution["outcome"]
    keys = {line.id: line.key for line, _ in _ticket_lines(session, ticket)}
    for product in ticket.products:
        product.granted = granted.get(keys[product.order_product_id])


def _check_move(ticket: Ticket, change: StatusChangeIn) -> TicketStatus:
    """The ticket's status now, if it is the one the caller read (``version``) and may move as asked."""
    if change.version is not None and change.version != ticket.version:
        raise Conflict(
            f"Ticket {ticket.id} changed since you read it (version {change.version}, now {ticket.version}); "
            "reload it and try again.",
            extra={"ticket": {"number": ticket.id, "status": ticket.status, "version": ticket.version}},
        )
    current = TicketStatus(ticket.status)
    if not current.can_move_to(change.status):
        allowed = [s.value for s in current.allowed_moves()]
        raise Conflict(
            f"A {current} ticket cannot move to {change.status}; it can move to {', '.join(allowed)}.",
            extra={"status": current.value, "allowed": allowed},
        )
    return current


def change_status(session: Session, actor: Actor, number: str, body: Any) -> Ticket:
    """Move a ticket along the workflow (staff), with an optional public message and, to solve, a resolution."""
    ticket = numbered_ticket(session, number, for_update=True)
    change = parse_or_raise(StatusChangeIn, body)
    resolution, granted, problems = _resolution(session, ticket, change)
    if problems:
        raise ValidationFailed(problems)
    current = _check_move(ticket, change)
    now = utcnow()
    details: dict[str, Any] = {"from": current.value}
    if current.is_solved:  # a reopen: the resolution goes to history
        details["previous_resolution"] = _reopen(session, ticket)
    if resolution is not None:
        _resolve(session, ticket, resolution, granted)
        details["resolution"] = resolution
    _move(ticket, change.status, now)
    _touch(ticket, now, visible=True)
    _history(session, ticket, actor, "status_changed", now, **details)
    if change.message is not None:
        _add_message(session, ticket, actor, change.message, now)
    record_ticket_event(session, ticket, EventType.TICKET_STATUS_CHANGED)
    return ticket


# --- the conversation ------------------------------------------------------------------------------


def add_staff_message(session: Session, actor: Actor, number: str, body: Any, *, allow_private_urls: bool) -> Ticket:
    """A staff reply (an event for the reseller) or an internal note (staff only: no event, no updated_at)."""
    ticket = numbered_ticket(session, number, for_update=True)
    parsed, problems = parse(StaffMessageIn, body)
    uris, more = _file_problems(parsed.files if parsed else None, allow_private_urls=allow_private_urls)
    if parsed is None or more:
        raise ValidationFailed(problems + more)
    # Internal notes stay possible on a solved ticket (staff may record what happened after the answer).
    if TicketStatus(ticket.status).is_solved and not parsed.internal:
        raise _closed(ticket)
    now = utcnow()
    _add_message(session, ticket, actor, parsed.body, now, internal=parsed.internal, uris=uris)
    _touch(ticket, now, visible=not parsed.internal)
    if not parsed.internal:
        record_ticket_event(session, ticket, EventType.TICKET_MESSAGE_ADDED)
    else:
        session.flush()
    return ticket


def add_reseller_message(
    session: Session, actor: Actor, external_id: str, body: Any, *, allow_private_urls: bool
) -> Ticket:
    """A reseller's reply. On a holding ticket (the supplier awaited it) the ticket moves back to pending."""
    assert actor.id is not None
    ticket = reseller_ticket(session, actor.id, external_id, for_update=True)
    parsed, problems = parse(MessageIn, body)
    uris, more = _file_problems(parsed.files if parsed else None, allow_private_urls=allow_private_urls)
    if parsed is None or more:
        raise ValidationFailed(problems + more)
    status = TicketStatus(ticket.status)
    if status.is_solved:
        raise _closed(ticket)
    now = utcnow()
    _add_message(session, ticket, actor, parsed.body, now, uris=uris)
    _touch(ticket, now, visible=True)
    if status is TicketStatus.HOLDING:
        _move(ticket, TicketStatus.PENDING, now)
        _history(session, ticket, actor, "status_changed", now, **{"from": TicketStatus.HOLDING.value})
        # A status change that carries a message is one status_changed event.
        record_ticket_event(session, ticket, EventType.TICKET_STATUS_CHANGED)
    else:
        record_ticket_event(session, ticket, EventType.TICKET_MESSAGE_ADDED)
    return ticket


# --- assignment ------------------------------------------------------------------------------------


def assign(session: Session, actor: Actor, number: str, body: Any) -> Ticket:
    """Give the ticket to a staff member ("me" is the caller) or to nobody. Staff only: no reseller event."""
    ticket = numbered_ticket(session, number, for_update=True)
    parsed = parse_or_raise(AssignIn, body)
    wanted = actor.id if parsed.assignee == "me" else parsed.assignee
    staff: Staff | None = None
    if isinstance(wanted, int):
        staff = session.get(Staff, wanted)
        if staff is None:
            raise ValidationFailed([Problem("assignee", Code.STAFF_NOT_FOUND, f"No staff member has id {wanted}.")])
    new_id = staff.id if staff is not None else None
    if new_id == ticket.assignee_id:
        return ticket
    now = utcnow()
    ticket.assignee_id = new_id
    _touch(ticket, now, visible=False)
    assignee = {"id": staff.id, "name": staff.name or staff.email} if staff is not None else None
    _history(session, ticket, actor, "assigned", now, assignee=assignee)
    session.flush()
    return ticket
