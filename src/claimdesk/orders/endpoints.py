"""The supplier's order API, minimal: enough for tickets to refer to orders and their product lines."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from claimdesk.api.answers import OrderCreated, OrderStatusList, ReasonList, SolutionList
from claimdesk.api.deps import ActorDep, JsonBody, ResellerDep, ServicesDep
from claimdesk.api.docs import ORDER_BODY, ORDER_STATUS_BODY, answers
from claimdesk.rules.catalogue import REASONS, SOLUTIONS

from . import service
from .presenter import order_status_view, order_view

router = APIRouter(tags=["orders"])


@router.post(
    "/order",
    status_code=201,
    openapi_extra=ORDER_BODY,
    response_model=None,
    responses=answers(OrderCreated, "Registered.", 400, 401, 409, 413, 415, 422, 429, status=201),
)
def create_order(actor: ResellerDep, services: ServicesDep, body: JsonBody) -> JSONResponse:
    """Register an order so that tickets can refer to it. Give product ids (recommended)."""

    def unit(session: Session) -> dict[str, Any]:
        order = service.create_order(session, actor, body, allow_private_urls=services.settings.allow_private_urls)
        return order_view(order)

    view = services.db.write(unit)
    return JSONResponse({"status": "accepted", "message": "Order accepted", "order": view}, status_code=201)


@router.post(
    "/order/status",
    openapi_extra=ORDER_STATUS_BODY,
    response_model=None,
    responses=answers(OrderStatusList, "The orders, in request order.", 400, 401, 413, 415, 422, 429),
)
def order_status(actor: ResellerDep, services: ServicesDep, body: JsonBody) -> JSONResponse:
    """Look up 1 to 5 orders by id, supplier_order_number or reference: lines, claimable items, tickets."""

    def unit(session: Session) -> dict[str, Any]:
        found = service.order_statuses(session, actor, body)
        orders = [order for _, order in found if order is not None]
        tickets = service.tickets_of_orders(session, [o.id for o in orders])
        answers = []
        for query, order in found:
            if order is None:
                answers.append({"error": "Order not found", "query": query.model_dump(exclude_none=True)})
            else:
                claimable = {k: line.claimable for k, line in service.order_facts(session, order).lines.items()}
                answers.append(order_status_view(order, claimable, tickets[order.id]))
        return {"orders": answers}

    return JSONResponse(services.db.read(unit))


catalogue_router = APIRouter(tags=["catalogue"])


@catalogue_router.get(
    "/reasons",
    operation_id="list_reasons",
    response_model=None,
    responses=answers(ReasonList, "The reasons.", 401, 429),
)
def reasons(_actor: ActorDep) -> dict[str, Any]:
    """The fixed reasons, in the guide's order, and whether each needs files on every product line."""
    return {
        "reasons": [
            {"value": r.value, "label": i.label, "explanation": i.explanation, "files_required": i.files_required}
            for r, i in REASONS.items()
        ]
    }


@catalogue_router.get(
    "/solutions",
    operation_id="list_solutions",
    response_model=None,
    responses=answers(SolutionList, "The solutions.", 401, 429),
)
def solutions(_actor: ActorDep) -> dict[str, Any]:
    """The fixed suggested solutions, in the guide's order."""
    return {
        "solutions": [{"value": s.value, "label": i.label, "explanation": i.explanation} for s, i in SOLUTIONS.items()]
    }
