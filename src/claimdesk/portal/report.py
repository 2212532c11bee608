"""The portal's order page and its report form: pick order lines, say what is wrong with each, and the
tickets are filed (one per reason and solution, all or none) by the API's own intake.

Routes: ``GET /portal/orders/{order_id}`` (the order and the form), ``POST .../report`` (files the tickets;
303 to the filed page, or the form again with every mistake, 422), ``GET .../filed?ticket=...`` (what was
filed). The order id is the reseller's own, URL-encoded (it may hold a slash, hence ``:path``; the longer
routes come first).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from claimdesk.accounts.service import Actor
from claimdesk.accounts.users import last_contact_email, remember_contact_email
from claimdesk.console import uploads
from claimdesk.exceptions import NotFound, ValidationFailed
from claimdesk.files.service import StoredContent
from claimdesk.files.storage import Storage, get_storage
from claimdesk.orders.detail import OrderDetail, order_detail
from claimdesk.rawdb import Sql
from claimdesk.tickets import lookup
from claimdesk.tickets.presenter import Audience, ticket_views
from claimdesk.tickets.service import Draft, Filed, FilingRefused, file_tickets
from claimdesk.web.deps import ResellerPage, web_router
from claimdesk.web.render import render
from claimdesk.web.signing import signing_key
from claimdesk.web.state import web_state

from . import reporting
from .reporting import FormError, KeptPhoto, LineInput, PhotoSigner, ReportInput

router = web_router(tags=["portal"])

MAX_FILED = 100  # the ticket ids a filed page shows (a report has at most one per line)


def order_url(order_id: str) -> str:
    return "/portal/orders/" + quote(order_id, safe="")


def ticket_url(ticket_id: str) -> str:
    """The portal's page of a ticket (by the reseller's own id)."""
    return "/portal/tickets/" + quote(ticket_id, safe="")


def _links(request: Request) -> dict[str, Any]:
    """What both pages use to name and link things."""
    return {
        "ticket_url": ticket_url,
        "max_file_mb": web_state(request).settings.max_file_bytes // (1024 * 1024),
        **reporting.choices(),
    }


def _account(identity: Any) -> int:
    account_id: int | None = identity.account_id
    assert account_id is not None  # ResellerPage: a reseller account's user
    return account_id


def _order_context(session: Session, account_id: int, user_id: int, order_id: str) -> dict[str, Any]:
    return {"order": order_detail(session, account_id, order_id), "last_contact": last_contact_email(session, user_id)}


def _page(
    request: Request,
    order: OrderDetail,
    report: ReportInput,
    *,
    errors: list[FormError] | None = None,
    status: int = 200,
) -> Response:
    errors = errors or []
    context = {
        "order": order,
        "report": report,
        "errors": errors,
        "summary": [{"field": e.field, "message": e.summary} for e in errors],
        "field_errors": reporting.by_field(errors),
        "order_url": order_url(order.id),
        "lines_anchor": reporting.LINES_ANCHOR,
        "line_field": reporting.line_field,
        "product_name": reporting.product_name,
        **_links(request),
    }
    return render(request, "portal/order.html", context, status=status)


@router.get("/portal/orders/{order_id:path}/filed")
async def filed_page(request: Request, order_id: str, identity: ResellerPage) -> Response:
    """The tickets a report made, each with its lines and a link to it."""
    account_id = _account(identity)
    ids = request.query_params.getlist("ticket")[:MAX_FILED]

    def read(session: Session) -> dict[str, Any]:
        order = order_detail(session, account_id, order_id)
        tickets = [lookup.reseller_ticket(session, account_id, ticket_id) for ticket_id in ids]
        if any(ticket.order_id != order.number for ticket in tickets):
            raise NotFound("Ticket not found.")
        return {"order": order, "tickets": ticket_views(session, tickets, Audience.RESELLER)}

    context = await run_in_threadpool(web_state(request).db.read, read)
    return render(
        request,
        "portal/filed.html",
        {**context, "order_url": order_url(order_id), **_links(request)},
    )


@router.post("/portal/orders/{order_id:path}/report")
async def report_problem(request: Request, order_id: str, identity: ResellerPage) -> Response:
    """Files the report's tickets, all or none; refused, the form again with every mistake beside its field."""
    account_id = _account(identity)
    web = web_state(request)
    settings = web.settings
    storage = get_storage(settings)
    order = await run_in_threadpool(web.db.read, order_detail, account_id, order_id)
    signer = PhotoSigner(signing_key(settings), identity.id, order.number)
    form = await request.form()  # the CSRF check has read it already
    try:
        report, errors = reporting.read_form(form, order, signer, storage)
        errors += await run_in_threadpool(_keep_new_photos, report, order, signer, storage, settings)
    finally:
        await form.close()  # the uploads' temporary files
    planned = await reporting.plan(report, order, allow_private_urls=settings.allow_private_urls)
    actor = identity.actor
    filed: list[Filed] = []
    try:
        if errors:  # the form's own mistakes: the intake is still asked, so that every mistake shows at once
            if planned.drafts:
                await web.db.run_read(_check, actor, planned.drafts)
        else:
            filed = await web.db.run_write(_file, actor, identity.id, planned.drafts, report.contact_email)
    except FilingRefused as exc:
        errors += reporting.refusal_errors(exc.refusals, planned, order)
    if errors:
        return _page(request, order, report, errors=errors, status=422)
    ids = [str(ticket.view["id"]) for ticket in filed if ticket.view is not None]
    target = f"{order_url(order.id)}/filed?{urlencode([('ticket', i) for i in ids])}"
    return RedirectResponse(target, status_code=303)


def _check(sql: Sql, actor: Actor, drafts: list[Draft]) -> None:
    file_tickets(sql, actor, drafts, store=False)


def _file(sql: Sql, actor: Actor, user_id: int, drafts: list[Draft], contact_email: str) -> list[Filed]:
    """The report's tickets, and the contact it gave as this user's next default, in one unit of work."""
    filed = file_tickets(sql, actor, drafts)
    remember_contact_email(sql, user_id, contact_email)
    return filed


def _keep_new_photos(
    report: ReportInput, order: OrderDetail, signer: PhotoSigner, storage: Storage, settings: Any
) -> list[FormError]:
    """The included lines' new uploads checked by content and size like every upload; those that pass are
    stored now (outside the unit of work) and carried as kept photos; each refusal beside its line."""
    errors = []
    for line in report.included():
        for upload in line.uploads:
            try:
                photos = uploads.check_photos(
                    [upload], max_bytes=settings.max_file_bytes, thumbnail_px=settings.thumbnail_px
                )
            except ValidationFailed as exc:
                errors += [reporting.photo_error(order, line.index, p.code, p.message) for p in exc.problems]
                continue
            try:
                for filename, content in uploads.keep_photos(storage, photos):
                    line.kept.append(_kept(signer, line, filename, content))
            finally:
                uploads.close(photos)
        line.uploads = []
    return errors


def _kept(signer: PhotoSigner, line: LineInput, filename: str | None, content: StoredContent) -> KeptPhoto:
    return KeptPhoto(signer.token(line.index, filename, content), filename, content)


@router.get("/portal/orders/{order_id:path}")
async def order_page(request: Request, order_id: str, identity: ResellerPage) -> Response:
    """One of the account's orders: its lines, what can still be claimed, their tickets, and the report form."""
    web = web_state(request)
    context = await run_in_threadpool(web.db.read, _order_context, _account(identity), identity.id, order_id)
    order: OrderDetail = context["order"]
    report = ReportInput(
        contact_email=context["last_contact"] or "",
        lines=[LineInput(index) for index in range(len(order.lines))],
    )
    return _page(request, order, report)
