"""One order of an account as its page shows it: each line with what is claimed, what can still be, and the
tickets on it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.exceptions import NotFound
from claimdesk.models import Order, Ticket, TicketProduct
from claimdesk.rules.fields import is_clean_text

from .service import order_facts

MAX_ORDER_ID = 64  # OrderIn.id: no order has a longer id


@dataclass(frozen=True, slots=True)
class LineTicket:
    """A ticket that claims items of the line."""

    id: str  # the reseller's own ticket id
    number: int
    status: str
    reason: str
    amount: int


@dataclass(frozen=True, slots=True)
class LineDetail:
    ref: int | str  # the product id, as the reseller gave it
    code: str | None
    amount: int
    claimed: int
    claimable: int
    tickets: tuple[LineTicket, ...]


@dataclass(frozen=True, slots=True)
class OrderDetail:
    number: int  # the supplier_order_number
    id: str  # the reseller's own order id
    reference: str | None
    customer_email: str | None
    created_at: dt.datetime
    lines: tuple[LineDetail, ...]  # in the order's order


def order_detail(session: Session, account_id: int, external_id: str) -> OrderDetail:
    """The account's order with the reseller's id ``external_id``; another account's is not found (404)."""
    order = None
    if 1 <= len(external_id) <= MAX_ORDER_ID and is_clean_text(external_id):
        order = session.scalar(sa.select(Order).where(Order.account_id == account_id, Order.external_id == external_id))
    if order is None:
        raise NotFound("Order not found.")
    facts = order_facts(session, order)
    claims: dict[int, list[LineTicket]] = {}
    rows = session.execute(
        sa.select(TicketProduct.order_product_id, Ticket.external_id, Ticket.id, Ticket.status, Ticket.reason)
        .add_columns(TicketProduct.amount)
        .join(Ticket, Ticket.id == TicketProduct.ticket_id)
        .where(Ticket.order_id == order.id)
        .order_by(Ticket.id)
    )
    for line_id, ticket_id, number, status, reason, amount in rows:
        claims.setdefault(line_id, []).append(LineTicket(ticket_id, number, status, reason, amount))
    lines = tuple(
        LineDetail(
            ref=line.ref,
            code=line.code,
            amount=line.amount,
            claimed=line.claimed,
            claimable=line.claimable,
            tickets=tuple(claims.get(line.line_id, ())),
        )
        for line in facts.lines.values()  # order_facts reads them in the order's order
    )
    return OrderDetail(order.id, order.external_id, order.reference, order.customer_email, order.created_at, lines)
