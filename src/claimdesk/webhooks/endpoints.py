"""Webhook endpoints of the calling account, and their deliveries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from claimdesk.api.answers import DeliveryList, DeliveryQueued, Webhook, WebhookList
from claimdesk.api.deps import JsonBody, ResellerDep, ServicesDep
from claimdesk.api.docs import answers, body_of, error_responses
from claimdesk.api.listing import Limit
from claimdesk.exceptions import ValidationFailed
from claimdesk.rules.problems import Problem
from claimdesk.validation import page_size

from . import service
from .presenter import delivery_view, endpoint_view
from .schemas import EXAMPLE, WebhookIn

router = APIRouter(tags=["webhooks"])


def _limit(value: str | None) -> int:
    problems: list[Problem] = []
    size = page_size(value, problems)
    if problems:
        raise ValidationFailed(problems)
    return size


@router.post(
    "/webhooks",
    status_code=201,
    openapi_extra=body_of(WebhookIn, EXAMPLE),
    response_model=None,
    responses=answers(Webhook, "Registered, with its secret.", 400, 401, 403, 409, 413, 415, 422, 429, status=201),
)
def create_webhook(actor: ResellerDep, services: ServicesDep, body: JsonBody) -> JSONResponse:
    """Register an endpoint for ticket events. The answer carries its signing `secret`, shown only this once."""

    def unit(session: Session) -> dict[str, Any]:
        endpoint = service.create_endpoint(
            session, actor, body, allow_private_urls=services.settings.allow_private_urls
        )
        return endpoint_view(endpoint, with_secret=True)

    return JSONResponse(services.db.write(unit), status_code=201)


@router.get("/webhooks", response_model=None, responses=answers(WebhookList, "Your endpoints.", 401, 403, 429))
def list_webhooks(actor: ResellerDep, services: ServicesDep) -> dict[str, Any]:
    """Your endpoints (without their secrets)."""
    assert actor.id is not None
    endpoints = services.db.read(service.list_endpoints, actor.id)
    return {"webhooks": [endpoint_view(e) for e in endpoints]}


@router.get(
    "/webhooks/deliveries",
    response_model=None,
    responses=answers(DeliveryList, "The latest deliveries.", 401, 403, 422, 429),
)
def list_all_deliveries(actor: ResellerDep, services: ServicesDep, limit: Limit = None) -> dict[str, Any]:
    """Your latest deliveries to every receiver, the orders' callback_urls included, newest first."""
    assert actor.id is not None
    records = services.db.read(service.list_deliveries, actor.id, None, _limit(limit))
    return {"deliveries": [delivery_view(r) for r in records]}


@router.get(
    "/webhooks/{webhook_id}", response_model=None, responses=answers(Webhook, "The endpoint.", 401, 403, 404, 429)
)
def get_webhook(webhook_id: str, actor: ResellerDep, services: ServicesDep) -> dict[str, Any]:
    """One of your endpoints (without its secret)."""
    assert actor.id is not None
    return endpoint_view(services.db.read(service.get_endpoint, actor.id, webhook_id))


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=error_responses(401, 403, 404, 429))
def delete_webhook(webhook_id: str, actor: ResellerDep, services: ServicesDep) -> Response:
    """Delete an endpoint; nothing more is delivered to it."""
    assert actor.id is not None
    services.db.write(service.delete_endpoint, actor.id, webhook_id)
    return Response(status_code=204)


@router.post(
    "/webhooks/{webhook_id}/rotate-secret",
    response_model=None,
    responses=answers(Webhook, "The endpoint with its new secret.", 401, 403, 404, 429),
)
def rotate_webhook_secret(webhook_id: str, actor: ResellerDep, services: ServicesDep) -> dict[str, Any]:
    """A new signing secret (shown once). For 24 hours deliveries carry signatures by the old and the new one."""
    assert actor.id is not None
    return endpoint_view(services.db.write(service.rotate_secret, actor.id, webhook_id), with_secret=True)


@router.post(
    "/webhooks/{webhook_id}/enable",
    response_model=None,
    responses=answers(Webhook, "The endpoint.", 401, 403, 404, 429),
)
def enable_webhook(webhook_id: str, actor: ResellerDep, services: ServicesDep) -> dict[str, Any]:
    """Enable an endpoint that was disabled after failing for days."""
    assert actor.id is not None
    return endpoint_view(services.db.write(service.enable_endpoint, actor.id, webhook_id))


@router.post(
    "/webhooks/{webhook_id}/test",
    status_code=202,
    response_model=None,
    responses=answers(DeliveryQueued, "Queued.", 401, 403, 404, 409, 429, status=202),
)
def test_webhook(webhook_id: str, actor: ResellerDep, services: ServicesDep) -> JSONResponse:
    """Queue a signed `webhook.test` delivery to the endpoint; follow it in its deliveries."""
    assert actor.id is not None

    def unit(session: Session) -> dict[str, Any]:
        delivery = service.send_test(session, actor.id or 0, webhook_id)
        return delivery_view(service.DeliveryRecord(delivery, []))

    return JSONResponse({"delivery": services.db.write(unit)}, status_code=202)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=None,
    responses=answers(DeliveryList, "The endpoint's latest deliveries.", 401, 403, 404, 422, 429),
)
def list_webhook_deliveries(
    webhook_id: str,
    actor: ResellerDep,
    services: ServicesDep,
    limit: Limit = None,
) -> dict[str, Any]:
    """The endpoint's latest deliveries, newest first, each with every attempt (time, status code, latency, error)."""
    assert actor.id is not None
    records = services.db.read(service.list_deliveries, actor.id, webhook_id, _limit(limit))
    return {"deliveries": [delivery_view(r) for r in records]}


@router.post(
    "/webhooks/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=None,
    responses=answers(DeliveryQueued, "Queued again.", 401, 403, 404, 409, 429, status=202),
)
def redeliver(delivery_id: str, actor: ResellerDep, services: ServicesDep) -> JSONResponse:
    """Send a finished delivery again: the same body and `webhook-id`, with a fresh round of retries."""
    assert actor.id is not None
    record = services.db.write(service.redeliver, actor.id, delivery_id)
    return JSONResponse({"delivery": delivery_view(record)}, status_code=202)
