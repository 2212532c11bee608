"""Orders: registering them and looking them up, with how much of each line can still be claimed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.accounts.service import Actor
from claimdesk.exceptions import Conflict, ValidationFailed
from claimdesk.models import Order, OrderProduct, Ticket
from claimdesk.netguard import url_problems
from claimdesk.rules.codes import Code
from claimdesk.rules.fields import as_id, product_key
from claimdesk.rules.problems import Problem
from claimdesk.rules.tickets import OrderFacts, OrderLine
from claimdesk.validation import parse

from .ledger import claimed_items
from .schemas import OrderIn, OrderQuery, OrderStatusIn


def _line_problems(order: OrderIn) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for index, line in enumerate(order.products):
        if line.id is None:
            continue
        key = product_key(line.id)
        if key in seen:
            problems.append(
                Problem(f"products.{index}.id", Code.DUPLICATE_PRODUCT, f"Product id {key} is listed more than once.")
            )
        seen.add(key)
    return problems


def _assign_keys(order: OrderIn) -> list[tuple[str, bool]]:
    """Each line's key and whether it is an integer; lines without an id get the next free integer."""
    taken = {product_key(line.id) for line in order.products if line.id is not None}
    next_free = 1
    keys = []
    for line in order.products:
        if line.id is not None:
            keys.append((product_key(line.id), isinstance(line.id, int)))
            continue
        while str(next_free) in taken:
            next_free += 1
        taken.add(str(next_free))
        keys.append((str(next_free), True))
    return keys


def create_order(session: Session, actor: Actor, body: Any, *, allow_private_urls: bool) -> Order:
    """Register a reseller's order so that tickets can refer to it."""
    assert actor.id is not None
    parsed, problems = parse(OrderIn, body)
    if parsed is not None:
        problems += _line_problems(parsed)
        urls = [(f"callback_urls.{i}", url) for i, url in enumerate(parsed.callback_urls or [])]
        problems += url_problems(urls, allow_private=allow_private_urls)
    if problems or parsed is None:
        raise ValidationFailed(problems)
    exists = session.scalar(sa.select(Order.id).where(Order.account_id == actor.id, Order.external_id == parsed.id))
    if exists is not None:
        raise Conflict(f"Order with customer order id '{parsed.id}' already exists")
    order = Order(
        account_id=actor.id,
        external_id=parsed.id,
        reference=parsed.reference,
        customer_email=parsed.customer_email,
        callback_urls=list(parsed.callback_urls or []),
    )
    order.products = [
        OrderProduct(position=index, key=key, ref_is_int=is_int, code=line.code, amount=line.amount)
        for index, (line, (key, is_int)) in enumerate(zip(parsed.products, _assign_keys(parsed), strict=True))
    ]
    session.add(order)
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError:  # the same id registered by a concurrent request
        raise Conflict(f"Order with customer order id '{parsed.id}' already exists") from None
    return order


_LINES = (
    sa.select(OrderProduct, claimed_items(OrderProduct.id))
    .where(OrderProduct.order_id == sa.bindparam("order_id"))
    .order_by(OrderProduct.position)
)


def order_facts(session: Session, order: Order) -> OrderFacts:
    """The order's lines with the items claimed of each by the order's tickets. One query."""
    rows = session.execute(_LINES, {"order_id": order.id})
    return OrderFacts(
        customer_email=order.customer_email,
        lines={
            p.key: OrderLine(ref=p.ref, amount=p.amount, claimed=int(total), line_id=p.id, code=p.code)
            for p, total in rows
        },
    )


def _find(session: Session, account_id: int, query: OrderQuery) -> Order | None:
    where = [Order.account_id == account_id]
    if query.id is not None:
        where.append(Order.external_id == str(query.id))
    elif query.supplier_order_number is not None:
        number = as_id(str(query.supplier_order_number).strip())
        if number is None:
            return None
        where.append(Order.id == number)
    else:
        where.append(Order.reference == query.reference)
    return session.scalar(sa.select(Order).where(*where).order_by(Order.id.desc()).limit(1))


def order_statuses(session: Session, actor: Actor, body: Any) -> list[tuple[OrderQuery, Order | None]]:
    """Up to five lookups, answered in request order; an order of another account is not found."""
    assert actor.id is not None
    parsed, problems = parse(OrderStatusIn, body)
    if parsed is None:
        raise ValidationFailed(problems)
    return [(query, _find(session, actor.id, query)) for query in parsed.orders]


def tickets_of_orders(session: Session, order_ids: Sequence[int]) -> dict[int, list[Ticket]]:
    found: dict[int, list[Ticket]] = {order_id: [] for order_id in order_ids}
    if order_ids:
        for ticket in session.scalars(sa.select(Ticket).where(Ticket.order_id.in_(order_ids)).order_by(Ticket.id)):
            found[ticket.order_id].append(ticket)
    return found


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """One row of an account's order list: the order, its lines and items, and how many tickets name it."""

    order: Order
    lines: int
    items: int
    tickets: int


def list_orders(
    session: Session, account_id: int, *, limit: int, offset: int = 0, search: str | None = None
) -> list[OrderSummary]:
    """The account's orders, newest first, with their line, item and ticket counts (three queries in all).
    ``search``: part of the order id or reference, or the supplier's order number."""
    query = sa.select(Order).where(Order.account_id == account_id)
    if search and search.strip():
        words = search.strip()
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches: list[sa.ColumnElement[bool]] = [
            Order.external_id.ilike(pattern, escape="\\"),
            Order.reference.ilike(pattern, escape="\\"),
        ]
        if words.isdigit() and len(words) < 18:
            matches.append(Order.id == int(words))
        query = query.where(sa.or_(*matches))
    orders = list(session.scalars(query.order_by(Order.id.desc()).limit(limit).offset(offset)))
    ids = [o.id for o in orders]
    if not ids:
        return []
    lines = {
        order_id: (int(count), int(total or 0))
        for order_id, count, total in session.execute(
            sa.select(OrderProduct.order_id, sa.func.count(), sa.func.sum(OrderProduct.amount))
            .where(OrderProduct.order_id.in_(ids))
            .group_by(OrderProduct.order_id)
        )
    }
    tickets = {
        order_id: int(count)
        for order_id, count in session.execute(
            sa.select(Ticket.order_id, sa.func.count()).where(Ticket.order_id.in_(ids)).group_by(Ticket.order_id)
        )
    }
    return [OrderSummary(o, *lines.get(o.id, (0, 0)), tickets.get(o.id, 0)) for o in orders]
