"""Reseller ticket endpoints. Handlers parse, call one service function and shape the answer."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from claimdesk.api.answers import Ticket, TicketCreated, TicketList, Valid
from claimdesk.api.deps import JsonBody, ResellerDep, ServicesDep, reseller_and_body
from claimdesk.api.docs import MESSAGE_BODY, TICKET_BODY, answers
from claimdesk.api.listing import TicketListQueryDep
from claimdesk.api.routing import add_request_route

from . import lifecycle, listing, lookup, service
from .presenter import Audience, ticket_view, ticket_views

router = APIRouter(tags=["tickets"])

_CREATED = b'{"status":"open","message":"Ticket received","ticket":'


async def create_ticket(request: Request) -> Response:
    """File a complaint about product lines of one of your orders (the guide's "Ticket breakdown")."""
    services, actor, body = await reseller_and_body(request)
    draft = await service.draft_ticket(body, allow_private_urls=services.settings.allow_private_urls)
    filed = await services.db.run_write(service.file_ticket, actor, draft)
    if filed.view_json is not None:
        # The view's JSON text as its first event stored it, inside the answer's: what FastJSONResponse
        # writes for {"status": "open", "message": "Ticket received", "ticket": view}, encoded once.
        content = _CREATED + filed.view_json.encode("utf-8", "surrogatepass") + b"}"
        return Response(content, status_code=201, media_type="application/json")
    view = await run_in_threadpool(services.db.read, service.reseller_view, filed.number)
    return JSONResponse({"status": view["status"], "message": "Ticket already received", "ticket": view})


def add_intake_route(app: FastAPI) -> None:
    """POST /tickets, the busiest route, goes on the app itself (see ``claimdesk.api.routing``)."""
    add_request_route(
        app,
        "/tickets",
        create_ticket,
        methods=["POST"],
        tags=["tickets"],
        status_code=201,
        openapi_extra=TICKET_BODY,
        response_model=None,
        responses={
            **answers(TicketCreated, "Filed.", 400, 401, 409, 413, 415, 422, 429, status=201),
            200: {"description": "The same id and body were filed before: the stored ticket.", "model": TicketCreated},
        },
    )


@router.post(
    "/tickets/validate",
    openapi_extra=TICKET_BODY,
    response_model=None,
    responses=answers(Valid, "The ticket would be filed.", 400, 401, 409, 413, 415, 422, 429),
)
async def validate_ticket(actor: ResellerDep, services: ServicesDep, body: JsonBody) -> dict[str, bool]:
    """Check a ticket body exactly as POST /tickets would, storing nothing: {"valid": true} or the error."""
    draft = await service.draft_ticket(body, allow_private_urls=services.settings.allow_private_urls)
    await services.db.run_read(service.check_ticket, actor, draft)
    return {"valid": True}


@router.get("/tickets/{ticket_id}", response_model=None, responses=answers(Ticket, "The ticket.", 401, 404, 429))
def get_ticket(ticket_id: str, actor: ResellerDep, services: ServicesDep) -> JSONResponse:
    """One of your tickets by your own ticket id."""

    def unit(session: Any) -> dict[str, Any]:
        assert actor.id is not None
        return ticket_view(session, lookup.reseller_ticket(session, actor.id, ticket_id), Audience.RESELLER)

    return JSONResponse(services.db.read(unit))


@router.post(
    "/tickets/{ticket_id}/messages",
    status_code=201,
    openapi_extra=MESSAGE_BODY,
    response_model=None,
    responses=answers(Ticket, "The ticket with the reply.", 400, 401, 403, 404, 409, 413, 415, 422, 429, status=201),
)
def add_message(ticket_id: str, actor: ResellerDep, services: ServicesDep, body: JsonBody) -> JSONResponse:
    """Reply in the ticket's thread, optionally with files. A reply to a holding ticket moves it to pending."""

    def unit(session: Any) -> dict[str, Any]:
        ticket = lifecycle.add_reseller_message(
            session, actor, ticket_id, body, allow_private_urls=services.settings.allow_private_urls
        )
        return ticket_view(session, ticket, Audience.RESELLER)

    return JSONResponse(services.db.write(unit), status_code=201)


@router.get("/tickets", response_model=None, responses=answers(TicketList, "A page of tickets.", 401, 422, 429))
def list_tickets(actor: ResellerDep, services: ServicesDep, query: TicketListQueryDep) -> JSONResponse:
    """Your tickets, newest first, a page at a time."""
    filters, size, before = listing.parse_list_query(query)
    filters = dataclasses.replace(filters, account_id=actor.id)

    def unit(session: Any) -> dict[str, Any]:
        tickets, next_cursor = listing.list_tickets(session, filters, size, before)
        return {"tickets": ticket_views(session, tickets, Audience.RESELLER), "next_cursor": next_cursor}

    return JSONResponse(services.db.read(unit))
