"""The claimed-amount ledger of an order line, and the grouping rule's holder: each defined once, as a
subquery that the ORM reads (orders, reopening a ticket) and the intake fast path compiles into its one
hand-run statement (``tickets/repository.py``), so the two can never count differently.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from claimdesk.models import Ticket, TicketProduct
from claimdesk.rules.statuses import Outcome, TicketStatus

# Named, so that a statement compiled to text (the fast path) keeps them as parameters with these values.
_REJECTED: sa.BindParameter[str] = sa.bindparam("rejected", Outcome.REJECTED.value)
_SOLVED: sa.BindParameter[str] = sa.bindparam("solved", TicketStatus.SOLVED.value)


def claimed_items(order_product_id: sa.orm.QueryableAttribute[int] | sa.ColumnElement[int]) -> sa.ScalarSelect[int]:
    """How many items of the order line tickets claim. A rejected ticket gives its items back: they can be
    claimed again (and reopening it claims them again, ``tickets.lifecycle``)."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(TicketProduct.amount), 0))
        .join(Ticket, Ticket.id == TicketProduct.ticket_id)
        .where(
            TicketProduct.order_product_id == order_product_id,
            sa.or_(Ticket.outcome.is_(None), Ticket.outcome != _REJECTED),
        )
        .scalar_subquery()
    )


def unsolved_holder(
    order_product_id: sa.orm.QueryableAttribute[int] | sa.ColumnElement[int], reason: Any
) -> sa.ScalarSelect[int | None]:
    """The number of the first unsolved ticket with ``reason`` (a value or a bound parameter) that claims the
    order line: the grouping rule allows one reason per product in unsolved tickets."""
    return (
        sa.select(sa.func.min(Ticket.id))
        .select_from(TicketProduct)
        .join(Ticket, Ticket.id == TicketProduct.ticket_id)
        .where(TicketProduct.order_product_id == order_product_id, Ticket.reason == reason, Ticket.status != _SOLVED)
        .scalar_subquery()
    )
