"""Staff ticket endpoints: every account's tickets, addressed by number. Handlers stay thin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from claimdesk.api.answers import StaffTicket, StaffTicketList
from claimdesk.api.deps import JsonBody, ServicesDep, StaffDep
from claimdesk.api.docs import STAFF_MESSAGE_BODY, answers, body_of
from claimdesk.api.listing import SearchText, StaffListQueryDep
from claimdesk.console import search
from claimdesk.tickets import lifecycle, lookup
from claimdesk.tickets.presenter import Audience, ticket_view, ticket_views
from claimdesk.tickets.schemas import AssignIn, StatusChangeIn

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


@router.get(
    "/tickets", response_model=None, responses=answers(StaffTicketList, "A page of tickets.", 401, 403, 422, 429)
)
def list_tickets(
    actor: StaffDep, services: ServicesDep, params: StaffListQueryDep, q: SearchText = None
) -> JSONResponse:
    """Every account's tickets, newest first or as the work queue (sort=waiting), a page at a time; `q` searches."""
    query, found = search.parse_staff_search(actor, params, q=q)

    def unit(session: Session) -> dict[str, Any]:
        tickets, next_cursor = search.list_or_search(session, query, found)
        return {"tickets": ticket_views(session, tickets, Audience.STAFF), "next_cursor": next_cursor}

    return JSONResponse(services.db.read(unit))


@router.get("/tickets/{number}", response_model=None, responses=answers(StaffTicket, "The ticket.", 401, 403, 404, 429))
def get_ticket(number: str, _actor: StaffDep, services: ServicesDep) -> JSONResponse:
    """One ticket by its number, with internal notes, assignee and version."""

    def unit(session: Session) -> dict[str, Any]:
        return ticket_view(session, lookup.numbered_ticket(session, number), Audience.STAFF)

    return JSONResponse(services.db.read(unit))


@router.post(
    "/tickets/{number}/messages",
    status_code=201,
    openapi_extra=STAFF_MESSAGE_BODY,
    response_model=None,
    responses=answers(
        StaffTicket, "The ticket with the message.", 400, 401, 403, 404, 409, 413, 415, 422, 429, status=201
    ),
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
    response_model=None,
    responses=answers(StaffTicket, "The moved ticket.", 400, 401, 403, 404, 409, 413, 415, 422, 429),
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
    response_model=None,
    responses=answers(StaffTicket, "The ticket.", 400, 401, 403, 404, 413, 415, 422, 429),
)
def assign(number: str, actor: StaffDep, services: ServicesDep, body: JsonBody) -> JSONResponse:
    """Assign the ticket to a staff member (an id, or "me"), or to nobody (null)."""

    def unit(session: Session) -> dict[str, Any]:
        return ticket_view(session, lifecycle.assign(session, actor, number, body), Audience.STAFF)

    return JSONResponse(services.db.write(unit))
