"""How endpoints and deliveries are shown to their account."""

from __future__ import annotations

from typing import Any

from claimdesk.models import WebhookEndpoint
from claimdesk.timefmt import rfc3339

from .service import DeliveryRecord


def endpoint_view(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "enabled": endpoint.disabled_at is None,
        "disabled_at": rfc3339(endpoint.disabled_at) if endpoint.disabled_at else None,
        "failing_since": rfc3339(endpoint.failing_since) if endpoint.failing_since else None,
        "created_at": rfc3339(endpoint.created_at),
    }
    if with_secret:
        view["secret"] = endpoint.secret
        if endpoint.previous_secret_expires_at is not None:
            view["previous_secret_expires_at"] = rfc3339(endpoint.previous_secret_expires_at)
    return view


def delivery_view(record: DeliveryRecord) -> dict[str, Any]:
    delivery = record.delivery
    return {
        "id": delivery.id,
        "webhook_id": delivery.endpoint_id,
        "kind": delivery.kind,
        "url": delivery.url,
        "event_id": delivery.event_id,
        "type": delivery.event_type,
        "state": delivery.state,
        "created_at": rfc3339(delivery.created_at),
        "finished_at": rfc3339(delivery.finished_at) if delivery.finished_at else None,
        "attempts": [
            {
                "number": attempt.number,
                "at": rfc3339(attempt.at),
                "status_code": attempt.status_code,
                "latency_ms": attempt.latency_ms,
                "error": attempt.error,
            }
            for attempt in record.attempts
        ],
    }
