"""The reseller portal's pages: for now the account's orders and tickets, read-only."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from claimdesk.orders.service import list_orders
from claimdesk.rules.catalogue import REASONS
from claimdesk.tickets.presenter import Audience, ticket_views
from claimdesk.tickets.service import TicketFilter, list_tickets
from claimdesk.web.deps import ResellerPage, web_router
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
