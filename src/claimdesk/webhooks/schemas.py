"""Request shapes of the webhook endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from claimdesk.rules.events import EventType
from claimdesk.rules.fields import HttpUri

EXAMPLE: dict[str, JsonValue] = {
    "url": "https://reseller.example/hooks/claimdesk",
    "events": ["ticket.status_changed"],
}


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": EXAMPLE})

    url: HttpUri = Field(description="Where deliveries are POSTed; https (http only where private URLs are allowed).")
    events: list[EventType] = Field(min_length=1, max_length=20, description="The ticket events to receive.")
