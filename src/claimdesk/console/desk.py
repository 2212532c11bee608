"""The facts beside a ticket on the desk: its order lines in numbers, and its account's context."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.models import Order, OrderProduct, Ticket, TicketProduct
from claimdesk.orders.service import order_facts
from claimdesk.rules.statuses import Outcome, TicketStatus

OTHER_TICKETS = 10


@dataclass(frozen=True, slots=True)
class LineFacts:
    """One product line of the ticket: ordered on the order, claimed here, still claimable, granted."""

    ref: int | str
    code: str | None
    ordered: int
    claimed: int
    claimable: int
    granted: int | None


@dataclass(frozen=True, slots=True)
class OtherTicket:
    number: int
    external_id: str
    status: str
    reason: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Rate:
    """Items claimed over items ordered (rejected tickets claim nothing)."""

    claimed: int
    ordered: int

    @property
    def value(self) -> float | None:
        return self.claimed / self.ordered if self.ordered else None


@dataclass(frozen=True)
class DeskContext:
    order_external_id: str
    order_reference: str | None
    lines: list[LineFacts]
    other_tickets: list[OtherTicket]
    other_count: int
    open_elsewhere: int  # the account's other tickets not solved
    complaint_rate: Rate
    allowed_moves: tuple[TicketStatus, ...]


def _not_rejected() -> sa.ColumnElement[bool]:
    return sa.or_(Ticket.outcome.is_(None), Ticket.outcome != Outcome.REJECTED.value)


def account_rate(session: Session, account_id: int) -> Rate:
    """The account's complaint rate over all its orders: two aggregate queries."""
    ordered = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(OrderProduct.amount), 0))
        .join(Order, Order.id == OrderProduct.order_id)
        .where(Order.account_id == account_id)
    )
    claimed = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(TicketProduct.amount), 0))
        .join(Ticket, Ticket.id == TicketProduct.ticket_id)
        .where(Ticket.account_id == account_id, _not_rejected())
    )
    return Rate(int(claimed or 0), int(ordered or 0))


def desk_context(session: Session, ticket: Ticket) -> DeskContext:
    order = session.get(Order, ticket.order_id)
    assert order is not None
    facts = order_facts(session, order)
    by_line = {line.line_id: line for line in facts.lines.values()}
    lines = []
    for product in ticket.products:
        line = by_line[product.order_product_id]
        lines.append(LineFacts(line.ref, line.code, line.amount, product.amount, line.claimable, product.granted))
    mine = (Ticket.account_id == ticket.account_id, Ticket.id != ticket.id)
    recent = session.execute(
        sa.select(Ticket.id, Ticket.external_id, Ticket.status, Ticket.reason, Ticket.created_at)
        .where(*mine)
        .order_by(Ticket.id.desc())
        .limit(OTHER_TICKETS)
    )
    unsolved = sa.case((Ticket.status != TicketStatus.SOLVED.value, 1), else_=0)
    counted = session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(unsolved), 0)).select_from(Ticket).where(*mine)
    ).one()
    return DeskContext(
        order_external_id=order.external_id,
        order_reference=order.reference,
        lines=lines,
        other_tickets=[OtherTicket(*row) for row in recent],
        other_count=int(counted[0]),
        open_elsewhere=int(counted[1]),
        complaint_rate=account_rate(session, ticket.account_id),
        allowed_moves=TicketStatus(ticket.status).allowed_moves(),
    )
