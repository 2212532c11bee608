"""Staff ticket endpoints: every account's tickets, addressed by number. Handlers stay thin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from claimdesk.api.deps import JsonBody, ServicesDep, StaffDep
from claimdesk.api.docs import STAFF_MESSAGE_BODY, body_of, error_responses
from claimdesk.console import search
from claimdesk.tickets import lifecycle
from claimdesk.tickets.presenter import Audience, ticket_view, ticket_views

from .schemas import AssignIn, StatusChangeIn

router = APIRouter(prefix="/staff", tags=["staff"])

STATUS_BODY = body_of(
    StatusChangeIn,
    {
        "status": "solved",
        "message": "We will print the two banners again.",
        "resolution": {"outcome": "rework", "note": "Torn in transit.", "products": [{"id": 17, "granted": 2}]},
    },
)
ASSIGN_BODY = body_of(AssignIn, {"assignee": "me"})


@router.get("/tickets", responses=error_responses(401, 403, 422, 429))
def list_tickets(
    *,
    actor: StaffDep,
    services: ServicesDep,
    status: str | None = Query(None, description="open, pending, holding or solved"),
    reason: str | None = Query(None, description="one of GET /reasons"),
    order_id: str | None = Query(None, description="the reseller's order id"),
    updated_since: str | None = Query(None, description="RFC 3339; tickets changed at or after it"),
    account: str | None = Query(None, description="an account id"),
    assignee: str | None = Query(None, description='a staff id, "me" or "none"'),
    created_before: str | None = Query(None, description="RFC 3339; tickets filed before it (their age)"),
    sort: str | None = Query(None, description="newest (default) or waiting: the work queue, longest waiting first"),
    q: str | None = Query(
        None,
        description="search: a ticket number, ticket id, order id or product code, or words of the description "
        "and messages (each a prefix, all required); exact number and ids first",
    ),
    limit: str | None = Query(None, description="1 to 200, default 50"),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
) -> JSONResponse:
    """Every account's tickets, newest first or as the work queue (sort=waiting), a page at a time; `q` searches."""
    query, found = search.parse_staff_search(
        actor,
        q=q,
        status=status,
        reason=reason,
        order_id=order_id,
        updated_since=updated_since,
        limit=limit,
        cursor=cursor,
        account=account,
        assignee=assignee,
        created_before=created_before,
        sort=sort,
    )

    def unit(session: Session) -> dict[str, Any]:
        tickets, next_cursor = search.list_or_search(session, query, found)
        return {"tickets": ticket_views(session, tickets, Audience.STAFF), "next_cursor": next_cursor}

    return JSONResponse(services.db.read(unit))


@router.get("/tickets/{number}", responses=error_responses(401, 403, 404, 429))
def get_ticket(number: str, _actor: StaffDep, services: ServicesDep) -> JSONResponse:
    """One ticket by its number, with internal notes, assignee and version."""

    def unit(session: Session) -> dict[str, Any]:
        return ticket_view(session, lifecycle.get_by_number(session, number), Audience.STAFF)

    return JSONResponse(services.db.read(unit))


@router.post(
    "/tickets/{number}/messages",
    status_code=201,
    openapi_extra=STAFF_MESSAGE_BODY,
    responses=error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429),
)
def add_message(number: str, actor: StaffDep, services: ServicesDep, body: JsonBody) -> JSONResponse:
    """Reply to the reseller, or write an internal note ("internal": true) that resellers never see."""

    def unit(session: Session) -> dict[str, Any]:
        ticket = lifecycle.add_staff_message(
            session, actor, number, body, allow_private_urls=services.settings.allow_private_urls
        )
        return ticket_view(session, ticket, Audience.STAFF)

    return JSONResponse(services.db.write(unit), status_code=201)


@router.post(
    "/tickets/{number}/status",
    openapi_extra=STATUS_BODY,
    responses=error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429),
)
def change_status(number: str, actor: StaffDep, services: ServicesDep, body: JsonBody) -> JSONResponse:
    """Move the ticket: open -> pending | holding | solved; pending -> holding | solved; holding -> pending |
    solved; solved -> pending (reopen). Solving needs a resolution; a message goes to the reseller."""

    def unit(session: Session) -> dict[str, Any]:
        return ticket_view(session, lifecycle.change_status(session, actor, number, body), Audience.STAFF)

    return JSONResponse(services.db.write(unit))


@router.post(
    "/tickets/{number}/assign",
    openapi_extra=ASSIGN_BODY,
    responses=error_responses(400, 401, 403, 404, 413, 415, 422, 429),
)
def assign(number: str, actor: StaffDep, services: ServicesDep, body: JsonBody) -> JSONResponse:
    """Assign the ticket to a staff member (an id, or "me"), or to nobody (null)."""

    def unit(session: Session) -> dict[str, Any]:
        return ticket_view(session, lifecycle.assign(session, actor, number, body), Audience.STAFF)

    return JSONResponse(services.db.write(unit))
