"""The reseller portal's pages: the home, the account's orders and tickets (lists), a ticket with its reply form,
the account's evidence files, and the account page (its keys, webhook endpoints and callback secret)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from claimdesk.accounts.keys import working_keys
from claimdesk.accounts.service import get_account
from claimdesk.console import uploads
from claimdesk.exceptions import Conflict, ValidationFailed
from claimdesk.files import service as files
from claimdesk.files.endpoints import send_file
from claimdesk.files.storage import get_storage
from claimdesk.orders.service import list_orders
from claimdesk.portal.reporting import relabel
from claimdesk.rules.catalogue import REASONS, Reason
from claimdesk.rules.problems import Problem
from claimdesk.rules.statuses import TicketStatus
from claimdesk.tickets.listing import ListQuery, TicketFilter, list_problems, list_tickets
from claimdesk.tickets.lookup import reseller_ticket
from claimdesk.tickets.presenter import Audience, ticket_view, ticket_views
from claimdesk.web.deps import ResellerPage, web_router
from claimdesk.web.forms import form_errors
from claimdesk.web.render import flash, render
from claimdesk.web.sessions import Identity
from claimdesk.web.state import web_state
from claimdesk.webhooks.presenter import delivery_view, endpoint_view
from claimdesk.webhooks.service import list_deliveries, list_endpoints

router = web_router(tags=["portal"])

PAGE_SIZE = 50


HOME_LATEST = 5


def _overview(session: Session, account_id: int) -> dict[str, Any]:
    mine = TicketFilter(account_id=account_id)
    held, more_held = list_tickets(session, replace(mine, status=TicketStatus.HOLDING), PAGE_SIZE, None)
    latest, _ = list_tickets(session, mine, HOME_LATEST, None)
    return {
        "waiting": ticket_views(session, held, Audience.RESELLER),
        "more_waiting": more_held is not None,
        "tickets": ticket_views(session, latest, Audience.RESELLER),
        "orders": list_orders(session, account_id, limit=HOME_LATEST),
        "reasons": {reason.value: info.label for reason, info in REASONS.items()},
    }


@router.get("/portal")
async def portal_home(request: Request, identity: ResellerPage) -> Response:
    """What waits for the reseller's answer, and the latest tickets and orders."""
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


# --- one ticket -----------------------------------------------------------------------------------


def _ticket(session: Session, account_id: int, ticket_id: str) -> dict[str, Any]:
    ticket = reseller_ticket(session, account_id, ticket_id)
    view = ticket_view(session, ticket, Audience.RESELLER)
    return {
        "ticket": view,
        "reason": Reason(ticket.reason).info.label,
        "solved": TicketStatus(ticket.status).is_solved,
    }


async def _ticket_page(
    request: Request,
    identity: Identity,
    ticket_id: str,
    *,
    errors: list[dict[str, str]] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    assert identity.account_id is not None
    context = await run_in_threadpool(web_state(request).db.read, _ticket, identity.account_id, ticket_id)
    context.update(errors=errors or [], form=form or {})
    return render(request, "portal/ticket.html", context, status=status)


@router.get("/portal/tickets/{ticket_id}")
async def portal_ticket(request: Request, ticket_id: str, identity: ResellerPage) -> Response:
    """One of the account's tickets: status, lines, evidence, history, the conversation and the reply form."""
    return await _ticket_page(request, identity, ticket_id)


def _send(services: Any, download: files.Download) -> Response:
    response = send_file(services, download)
    # The API's answer, but checked again on every view: a shared browser, after its person signs out, must
    # not show the next person the account's photos from its cache.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _field(loc: str) -> str:
    return uploads.FIELD if loc.startswith(uploads.FIELD) else "body"


def _reply_errors(problems: Sequence[Problem]) -> list[dict[str, str]]:
    """Each problem at its control, the API's message naming the field as the form's label does
    (``body: must not be empty.`` -> ``Message: must not be empty.``)."""
    # Only the text's problems are renamed: a photo's messages start with the photo's name, not its loc.
    return [
        {"field": _field(p.loc), "message": relabel(p.message, "body", "Message") if p.loc == "body" else p.message}
        for p in problems
    ]


@router.post("/portal/tickets/{ticket_id}/reply")
async def portal_reply(request: Request, ticket_id: str, identity: ResellerPage) -> Response:
    """The reseller's reply with optional photos: the API's lifecycle (a holding ticket moves to pending)."""
    form = await request.form()
    text = str(form.get("body") or "")
    body: dict[str, object] = {"body": text}
    web = web_state(request)
    settings = web.settings
    # An unknown ticket is the 404 page before the photos are read.
    assert identity.account_id is not None
    await run_in_threadpool(web.db.read, reseller_ticket, identity.account_id, ticket_id)
    picked = [f for f in form.getlist(uploads.FIELD) if isinstance(f, UploadFile) and f.filename]
    photos: list[uploads.Photo] = []
    try:
        photos = await run_in_threadpool(
            uploads.check_photos, picked, max_bytes=settings.max_file_bytes, thumbnail_px=settings.thumbnail_px
        )
        kept = await run_in_threadpool(uploads.keep_photos, get_storage(settings), photos)
    except ValidationFailed as exc:
        errors = _reply_errors(exc.problems)
        return await _ticket_page(request, identity, ticket_id, errors=errors, form={"body": text}, status=422)
    finally:
        uploads.close(photos)
        await form.close()  # the uploads' temporary files

    def change(session: Session) -> object:
        return uploads.reseller_reply_with_photos(
            session, identity.actor, ticket_id, body, kept, allow_private_urls=settings.allow_private_urls
        )

    try:
        await run_in_threadpool(web.db.write, change)
    except ValidationFailed as exc:
        errors = _reply_errors(exc.problems)
        return await _ticket_page(request, identity, ticket_id, errors=errors, form={"body": text}, status=422)
    except Conflict as exc:
        # A solved ticket's page has no reply box: the summary links to its resolution instead.
        errors = [{"field": "resolution", "message": exc.message}]
        return await _ticket_page(request, identity, ticket_id, errors=errors, form={"body": text}, status=409)
    attached = {0: "", 1: " 1 photo attached."}.get(len(kept), f" {len(kept)} photos attached.")
    done = f"Your reply was sent.{attached}"
    return flash(request, RedirectResponse(f"/portal/tickets/{ticket_id}", status_code=303), done, "success")


@router.get("/portal/files/{file_id}")
async def portal_file(request: Request, file_id: str, identity: ResellerPage) -> Response:
    """An evidence file of the account's tickets; another account's answers the 404 page."""
    services = request.app.state.services
    download = await run_in_threadpool(
        services.db.read, files.find_download, file_id, account_id=identity.account_id, thumbnail=False
    )
    return _send(services, download)


@router.get("/portal/files/{file_id}/thumbnail")
async def portal_file_thumbnail(request: Request, file_id: str, identity: ResellerPage) -> Response:
    """An evidence image's thumbnail, for the account's own files."""
    services = request.app.state.services
    download = await run_in_threadpool(
        services.db.read, files.find_download, file_id, account_id=identity.account_id, thumbnail=True
    )
    return _send(services, download)


# --- the account ----------------------------------------------------------------------------------

RECENT_DELIVERIES = 10


def _account(session: Session, account_id: int, *, reveal: bool) -> dict[str, Any]:
    account = get_account(session, account_id)
    return {
        "account": {"id": account.id, "name": account.name},
        "keys": working_keys(session, account_id),
        "endpoints": [endpoint_view(e) for e in list_endpoints(session, account_id)],
        "deliveries": [delivery_view(r) for r in list_deliveries(session, account_id, None, RECENT_DELIVERIES)],
        "callback_secret": account.callback_secret if reveal else None,
    }


async def _account_page(request: Request, identity: Identity, *, reveal: bool) -> Response:
    assert identity.account_id is not None
    context = await run_in_threadpool(web_state(request).db.read, _account, identity.account_id, reveal=reveal)
    # ``render`` answers every page ``no-store``: the revealed secret stays out of every cache.
    return render(request, "portal/account.html", {"user": identity, **context})


@router.get("/portal/account")
async def portal_account(request: Request, identity: ResellerPage) -> Response:
    """The account for its developers: API keys (their last characters), webhook endpoints and deliveries."""
    return await _account_page(request, identity, reveal=False)


@router.post("/portal/account/callback-secret")
async def portal_reveal_secret(request: Request, identity: ResellerPage) -> Response:
    """The account page with the callback secret shown: only on this POST (CSRF-checked), never on a GET."""
    return await _account_page(request, identity, reveal=True)
