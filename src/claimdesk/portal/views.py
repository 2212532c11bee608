"""The reseller portal's pages: the home, the account's orders and tickets (lists)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from claimdesk.orders.service import list_orders
from claimdesk.rules.catalogue import REASONS
from claimdesk.rules.statuses import TicketStatus
from claimdesk.tickets.listing import ListQuery, TicketFilter, list_problems, list_tickets
from claimdesk.tickets.presenter import Audience, ticket_views
from claimdesk.web.deps import ResellerPage, web_router
from claimdesk.web.forms import form_errors
from claimdesk.web.render import render
from claimdesk.web.state import web_state

router = web_router(tags=["portal"])

PAGE_SIZE = 50


def _overview(session: Session, account_id: int) -> dict[str, Any]:
    tickets, _ = list_tickets(session, TicketFilter(account_id=account_id), PAGE_SIZE, None)
    return {
        "orders": list_orders(session, account_id, limit=PAGE_SIZE),
        "tickets": ticket_views(session, tickets, Audience.RESELLER),
        "reasons": {reason.value: info.label for reason, info in REASONS.items()},
    }


@router.get("/portal")
async def portal_home(request: Request, identity: ResellerPage) -> Response:
    """The account's orders and tickets."""
    assert identity.account_id is not None
    context = await run_in_threadpool(web_state(request).db.read, _overview, identity.account_id)
    return render(request, "portal/index.html", {"user": identity, **context})


ORDERS_PAGE = 25


def _orders(session: Session, account_id: int, search: str | None, page: int) -> dict[str, Any]:
    rows = list_orders(session, account_id, limit=ORDERS_PAGE + 1, offset=(page - 1) * ORDERS_PAGE, search=search)
    return {"orders": rows[:ORDERS_PAGE], "has_next": len(rows) > ORDERS_PAGE}


@router.get("/portal/orders")
async def portal_orders(request: Request, identity: ResellerPage, q: str = "", page: str = "1") -> Response:
    """The account's orders, searchable by order id, reference or supplier order number; paged."""
    assert identity.account_id is not None
    number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    search = q.strip()[:200]
    context = await run_in_threadpool(web_state(request).db.read, _orders, identity.account_id, search, number)
    return render(request, "portal/orders.html", {"q": search, "page": number, **context})


def _tickets(session: Session, filters: TicketFilter, size: int, before: int | None) -> dict[str, Any]:
    waiting: list[Any] = []
    if before is None and filters.status in (None, TicketStatus.HOLDING):
        held, _ = list_tickets(session, replace(filters, status=TicketStatus.HOLDING), PAGE_SIZE, None)
        waiting = ticket_views(session, held, Audience.RESELLER)
    rows: list[Any] = []
    next_cursor = None
    if filters.status != TicketStatus.HOLDING:
        tickets, next_cursor = list_tickets(session, filters, size, before)
        rows = ticket_views(session, [t for t in tickets if t.status != TicketStatus.HOLDING.value], Audience.RESELLER)
    return {"waiting": waiting, "tickets": rows, "next_cursor": next_cursor}


@router.get("/portal/tickets")
async def portal_tickets(
    request: Request,
    identity: ResellerPage,
    *,
    status: str = "",
    reason: str = "",
    order_id: str = "",
    cursor: str | None = None,
) -> Response:
    """The account's tickets, the ones waiting for the reseller first; filters as ``GET /tickets``."""
    assert identity.account_id is not None
    query = ListQuery(status=status or None, reason=reason or None, order_id=order_id or None, cursor=cursor)
    filters, size, before, problems = list_problems(query)
    values = {"status": status, "reason": reason, "order_id": order_id}
    base = {
        "values": values,
        "statuses": [(s.value, s.value.capitalize()) for s in TicketStatus],
        "reasons": {reason.value: info.label for reason, info in REASONS.items()},
        "filtered": any(values.values()),
    }
    if problems:
        errors = form_errors(problems)
        empty: dict[str, Any] = {"waiting": [], "tickets": [], "next_cursor": None}
        return render(request, "portal/tickets.html", {**base, **empty, "errors": errors}, status=422)
    filters = replace(filters, account_id=identity.account_id)
    context = await run_in_threadpool(web_state(request).db.read, _tickets, filters, size, before)
    return render(request, "portal/tickets.html", {**base, **context, "errors": []})
