"""The staff console's pages: the work queue, the ticket desk and the dashboard.

Views gather a context from the same services as the API (queue, search, lifecycle, desk, dashboard) and
render it; every change goes through ``claimdesk.tickets.lifecycle``, so the statuses table, the catalogue
and the problems are the API's. Forms are plain posts that work without JavaScript.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from claimdesk.accounts.service import Actor
from claimdesk.exceptions import ClaimdeskError, Conflict, ValidationFailed
from claimdesk.files import service as files
from claimdesk.files.endpoints import send_file  # the API's file answer (headers, CSP sandbox), reused as is
from claimdesk.files.storage import get_storage
from claimdesk.models import Account, Staff
from claimdesk.rules.catalogue import Reason, Solution
from claimdesk.rules.codes import Code
from claimdesk.rules.problems import Problem
from claimdesk.rules.statuses import Outcome, TicketStatus
from claimdesk.staff.service import StaffListQuery
from claimdesk.tickets import lifecycle, lookup
from claimdesk.tickets.presenter import Audience, ticket_view
from claimdesk.timefmt import rfc3339
from claimdesk.web.deps import StaffPage, web_router
from claimdesk.web.render import flash, render
from claimdesk.web.state import web_state

from . import bulk, dashboard, desk, queue, uploads
from .search import parse_staff_search

router = web_router(tags=["console"])

AGES = {"1": "older than 1 day", "3": "older than 3 days", "7": "older than a week", "30": "older than 30 days"}
FILTERS = ("status", "reason", "account", "assignee", "age", "q", "cursor")


def _field(loc: str) -> str:
    """The form field a problem's ``loc`` belongs to (the id its error summary entry links to)."""
    parts = loc.split(".")
    if parts[0] == "resolution" and len(parts) > 1:
        return "grants" if parts[1] == "products" else parts[1]
    if parts[0] == "products":
        return "grants"
    return parts[0]


def _form_errors(problems: list[Problem]) -> list[dict[str, str]]:
    return [{"field": _field(p.loc), "message": p.message} for p in problems]


def _choices(session: Session) -> dict[str, Any]:
    staff = session.execute(sa.select(Staff.id, Staff.name, Staff.email).order_by(Staff.name, Staff.email)).all()
    accounts = session.execute(sa.select(Account.id, Account.name).order_by(Account.name).limit(500)).all()
    return {
        "staff": [(s.id, s.name or s.email) for s in staff],
        "accounts": [(a.id, a.name) for a in accounts],
        "reasons": [(r.value, r.info.label) for r in Reason],
        "statuses": list(TicketStatus),
        "ages": AGES,
    }


def _queue_context(session: Session, actor: Actor, params: dict[str, str]) -> dict[str, Any]:
    created_before = None
    if params.get("age") in AGES:
        created_before = rfc3339(dt.datetime.now(dt.UTC) - dt.timedelta(days=int(params["age"])))
    context: dict[str, Any] = {"filters": params, "page": None, "errors": [], **_choices(session)}
    try:
        query, search = parse_staff_search(
            actor,
            StaffListQuery(
                status=params.get("status") or None,
                reason=params.get("reason") or None,
                limit="50",
                cursor=params.get("cursor") or None,
                account=params.get("account") or None,
                assignee=params.get("assignee") or None,
                created_before=created_before,
                sort="waiting",
            ),
            q=params.get("q"),
        )
    except ValidationFailed as exc:
        context["errors"] = _form_errors(exc.problems)
        return context
    context["page"] = queue.queue_page(session, query, search)
    return context


def _params(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip() for name in FILTERS}


@router.get("/console")
async def work_queue(request: Request, identity: StaffPage) -> Response:
    """The work queue: tickets across accounts, oldest waiting first, with tabs, filters and search."""
    web = web_state(request)
    context = await run_in_threadpool(web.db.read, _queue_context, identity.actor, _params(request))
    return render(request, "console/queue.html", {**context, "results": None})


def _bulk(session: Session, actor: Actor, numbers: list[str], action: str) -> list[bulk.BulkResult]:
    picked = bulk.ticket_numbers(numbers)
    kind, _, value = action.partition(":")
    if kind == "assign":
        assignee: int | str | None = None if value == "none" else ("me" if value == "me" else int(value))
        return bulk.bulk_assign(session, actor, picked, assignee)
    if kind == "move" and value in {s.value for s in TicketStatus}:
        return bulk.bulk_move(session, actor, picked, value)
    raise ValidationFailed([Problem("action", Code.INVALID_CHOICE, "Choose what to do with the picked tickets.")])


@router.post("/console/bulk")
async def bulk_action(request: Request, identity: StaffPage) -> Response:
    """Assign or move the picked tickets; each says whether it was done, and why not."""
    web = web_state(request)
    form = await request.form()
    numbers = [str(v) for v in form.getlist("tickets")]
    action = str(form.get("action") or "")
    params = {name: str(form.get(f"keep_{name}") or "") for name in FILTERS}
    params["cursor"] = ""
    errors: list[dict[str, str]] = []
    results = None
    try:
        results = await run_in_threadpool(web.db.write, _bulk, identity.actor, numbers, action)
    except ValidationFailed as exc:
        errors = _form_errors(exc.problems)
    except ValueError:
        errors = [{"field": "action", "message": "Choose what to do with the picked tickets."}]
    context = await run_in_threadpool(web.db.read, _queue_context, identity.actor, params)
    context["errors"] = errors + context["errors"]
    return render(request, "console/queue.html", {**context, "results": results}, status=422 if errors else 200)


# --- the desk -------------------------------------------------------------------------------------


def _desk_context(session: Session, number: str) -> dict[str, Any]:
    ticket = lookup.numbered_ticket(session, number)
    view = ticket_view(session, ticket, Audience.STAFF)
    reason = Reason(ticket.reason)
    solution = Solution(ticket.suggested_solution)
    return {
        "ticket": view,
        "desk": desk.desk_context(session, ticket),
        "reason": reason.info,
        "solution": solution.info,
        "outcomes": [o.value for o in Outcome],
        **_choices(session),
    }


async def _desk(
    request: Request,
    number: str,
    *,
    errors: list[dict[str, str]] | None = None,
    form: dict[str, Any] | None = None,
    stale: str | None = None,
    status: int = 200,
) -> Response:
    web = web_state(request)
    context = await run_in_threadpool(web.db.read, _desk_context, number)
    errors = errors or []
    field_errors: dict[str, str] = {}
    for error in errors:
        field_errors.setdefault(error["field"], error["message"])
    context.update(errors=errors, field_errors=field_errors, form=form or {}, stale=stale)
    return render(request, "console/ticket.html", context, status=status)


@router.get("/console/tickets/{number}")
async def ticket_desk(request: Request, number: str, identity: StaffPage) -> Response:  # noqa: ARG001 (the guard)
    """The ticket desk: the conversation, the facts and every action on one page."""
    return await _desk(request, number)


async def _change(request: Request, number: str, change: Any, body: dict[str, Any], done: str) -> Response:
    web = web_state(request)
    try:
        await run_in_threadpool(web.db.write, change, body)
    except Conflict as exc:
        stale = exc.message if "changed since you read it" in exc.message else None
        problems = [{"field": "status", "message": exc.message}] if stale is None else []
        return await _desk(request, number, errors=problems, form=body, stale=stale, status=409)
    except ValidationFailed as exc:
        return await _desk(request, number, errors=_form_errors(exc.problems), form=body, status=422)
    except ClaimdeskError as exc:
        return await _desk(request, number, errors=[{"field": "status", "message": exc.message}], status=400)
    return flash(request, RedirectResponse(f"/console/tickets/{number}", status_code=303), done, "success")


def _version(value: object) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() else None


@router.post("/console/tickets/{number}/messages")
async def reply(request: Request, number: str, identity: StaffPage) -> Response:
    """A public reply, or an internal note when the switch is on; photos uploaded with it are evidence."""
    form = await request.form()
    body = {"body": str(form.get("body") or ""), "internal": form.get("internal") == "on"}
    web = web_state(request)
    settings = web.settings
    picked = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    photos: list[uploads.Photo] = []
    try:
        photos = await run_in_threadpool(
            uploads.check_photos, picked, max_bytes=settings.max_file_bytes, thumbnail_px=settings.thumbnail_px
        )
        kept = await run_in_threadpool(uploads.keep_photos, get_storage(settings), photos)
    except ValidationFailed as exc:
        return await _desk(request, number, errors=_form_errors(exc.problems), form=body, status=422)
    finally:
        uploads.close(photos)
        await form.close()  # the uploads' temporary files

    def change(session: Session, payload: dict[str, Any]) -> object:
        return uploads.reply_with_photos(
            session, identity.actor, number, payload, kept, allow_private_urls=settings.allow_private_urls
        )

    done = "Internal note added." if body["internal"] else "Reply sent to the reseller."
    return await _change(request, number, change, body, done)


@router.post("/console/tickets/{number}/status")
async def move(request: Request, number: str, identity: StaffPage) -> Response:
    """Move the ticket; solving carries the resolution form (outcome, note, granted per line)."""
    form = await request.form()
    status = str(form.get("status") or "")
    body: dict[str, Any] = {"status": status, "version": _version(form.get("version"))}
    if message := str(form.get("message") or "").strip():
        body["message"] = message
    if status == TicketStatus.SOLVED.value:
        resolution: dict[str, Any] = {"outcome": str(form.get("outcome") or ""), "note": str(form.get("note") or "")}
        grants = []
        for key, value in form.multi_items():
            if key.startswith("granted_") and str(value).strip():
                ref: int | str = key.removeprefix("granted_")
                kind = str(form.get(f"ref_is_int_{ref}") or "")
                grants.append(
                    {"id": int(ref) if kind == "1" else ref, "granted": int(v) if (v := str(value)).isdigit() else v}
                )
        if grants:
            resolution["products"] = grants
        body["resolution"] = resolution

    def change(session: Session, payload: dict[str, Any]) -> object:
        return lifecycle.change_status(session, identity.actor, number, payload)

    return await _change(request, number, change, body, f"Ticket moved to {status}.")


@router.post("/console/tickets/{number}/assign")
async def assign(request: Request, number: str, identity: StaffPage) -> Response:
    """Take the ticket, give it to a colleague, or to nobody."""
    form = await request.form()
    value = str(form.get("assignee") or "")
    assignee: int | str | None = None if value in ("", "none") else ("me" if value == "me" else _version(value))

    def change(session: Session, payload: dict[str, Any]) -> object:
        return lifecycle.assign(session, identity.actor, number, payload)

    return await _change(request, number, change, {"assignee": assignee}, "Assignment saved.")


@router.get("/console/files/{file_id}")
async def evidence(request: Request, file_id: str, identity: StaffPage) -> Response:  # noqa: ARG001 (the guard)
    """An evidence file's original, for staff signed in to the console."""
    services = request.app.state.services
    download = await run_in_threadpool(services.db.read, files.find_download, file_id, account_id=None, thumbnail=False)
    return send_file(services, download)


@router.get("/console/files/{file_id}/thumbnail")
async def evidence_thumbnail(request: Request, file_id: str, identity: StaffPage) -> Response:  # noqa: ARG001
    """An evidence image's thumbnail."""
    services = request.app.state.services
    download = await run_in_threadpool(services.db.read, files.find_download, file_id, account_id=None, thumbnail=True)
    return send_file(services, download)


# --- the dashboard --------------------------------------------------------------------------------


def _dashboard_context(session: Session, since: str | None, until: str | None) -> dict[str, Any]:
    try:
        period = dashboard.parse_range(since, until)
    except ValidationFailed as exc:
        return {"board": None, "errors": _form_errors(exc.problems), "since": since or "", "until": until or ""}
    board = dashboard.dashboard(session, period)
    return {"board": board, "errors": [], "since": period.since.isoformat(), "until": period.until.isoformat()}


@router.get("/console/dashboard")
async def dashboard_page(request: Request, identity: StaffPage) -> Response:  # noqa: ARG001 (the guard)
    """Charts over a date range, each linking to the queue filtered to what it shows."""
    web = web_state(request)
    since, until = request.query_params.get("since"), request.query_params.get("until")
    if await run_in_threadpool(web.db.read, dashboard.needs_rollup):
        await run_in_threadpool(web.db.write, dashboard.prepare)
    context = await run_in_threadpool(web.db.read, _dashboard_context, since, until)
    context["reason_labels"] = {r.value: r.info.label for r in Reason}
    return render(request, "console/dashboard.html", context, status=422 if context["errors"] else 200)


@router.get("/console/dashboard.csv")
async def export_csv(request: Request, identity: StaffPage) -> Response:  # noqa: ARG001 (the guard)
    """One row per ticket filed in the range, streamed."""
    web = web_state(request)
    period = dashboard.parse_range(request.query_params.get("since"), request.query_params.get("until"))

    def rows() -> Iterator[str]:
        with web.db.session() as session:
            yield from dashboard.csv_text(dashboard.export_rows(session, period))

    name = f"tickets-{period.since.isoformat()}-{period.until.isoformat()}.csv"
    return StreamingResponse(
        rows(), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
