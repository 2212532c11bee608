"""The answers' shapes, as named OpenAPI components.

These models document what the presenters build; they are not on the request path. Handlers keep building
their dicts (and return their own responses, so FastAPI neither validates nor serializes through these), and
``tests/api/test_answers.py`` checks real answers against the published schemas, so the two cannot drift.

Enumerations are written inline (``WithJsonSchema``) rather than as components of their own, so that the
component names stay the contract's (``Reason`` is the catalogue entry, not the enum of reason values).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from claimdesk.rules.catalogue import Reason as ReasonValue
from claimdesk.rules.catalogue import Solution as SolutionValue
from claimdesk.rules.codes import Code as CodeValue
from claimdesk.rules.events import EventType
from claimdesk.rules.statuses import Outcome as OutcomeValue
from claimdesk.rules.statuses import TicketStatus

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"}, description="RFC 3339, UTC.")]
ProductId = Annotated[int | str, Field(description="The product id as the order registered it.")]
ReasonChoice = Annotated[str, WithJsonSchema({"type": "string", "enum": [r.value for r in ReasonValue]})]
SolutionChoice = Annotated[str, WithJsonSchema({"type": "string", "enum": [s.value for s in SolutionValue]})]
StatusChoice = Annotated[str, WithJsonSchema({"type": "string", "enum": [s.value for s in TicketStatus]})]
EventChoice = Annotated[str, WithJsonSchema({"type": "string", "enum": [e.value for e in EventType]})]
OutcomeChoice = Annotated[str, WithJsonSchema({"type": "string", "enum": [o.value for o in OutcomeValue]})]
CodeChoice = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "enum": [c.value for c in CodeValue],
            "description": "One of the codes listed in the API description.",
        }
    ),
]


class Answer(BaseModel):
    """An answer documents every field the service sends, and nothing else."""

    model_config = ConfigDict(extra="forbid")


# Errors.


class ErrorItem(Answer):
    loc: str = Field(description="The dotted path of the field at fault (products.0.files), or a parameter's name.")
    code: CodeChoice
    message: str


class Error(BaseModel):
    """Every error answer. Some carry more: a conflict names the ticket it clashes with (``ticket``), a move
    not allowed the ticket's ``status`` and the ``allowed`` moves."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="One human sentence.")
    errors: list[ErrorItem] = Field(default_factory=list, description="Every mistake in the body, each at its field.")


# Tickets.


class Actor(Answer):
    type: Literal["reseller", "staff", "system"]
    id: int | None
    name: str | None = Field(description="The account's name, or the staff member's name or e-mail.")


class File(Answer):
    id: int
    uri: str | None = Field(description="Where the file was fetched from; null for an upload.")
    state: Literal["pending", "stored", "failed"]
    filename: str | None = Field(default=None, description="The uploaded file's name (uploads only).")
    error: str | None = Field(default=None, description="Why the file was not kept (failed files only).")
    content_type: str | None = Field(default=None, description="Stored files only, as for the fields below.")
    size: int | None = None
    sha256: str | None = None
    download_url: str | None = None
    thumbnail_url: str | None = None


class TicketLine(Answer):
    id: ProductId
    code: str | None
    amount: int = Field(description="How many items the ticket claims.")
    granted: int | None = Field(description="How many the resolution granted; null until solved or where not given.")
    files: list[File]


class GrantedLine(Answer):
    id: ProductId
    granted: int


class Resolution(Answer):
    outcome: OutcomeChoice
    note: str
    products: list[GrantedLine] | None = None


class Assignee(Answer):
    id: int
    name: str


class HistoryEntry(Answer):
    action: Literal["created", "status_changed", "assigned"]
    status: StatusChoice = Field(description="The ticket's status after this entry.")
    at: Timestamp
    by: Actor
    from_: StatusChoice | None = Field(default=None, alias="from", description="status_changed: the status before.")
    resolution: Resolution | None = Field(default=None, description="status_changed to solved: the resolution.")
    previous_resolution: Resolution | None = Field(default=None, description="A reopen: the resolution it cleared.")
    assignee: Assignee | None = Field(default=None, description="assigned (staff only): who, or null for nobody.")


class Message(Answer):
    id: int
    body: str
    by: Actor
    at: Timestamp
    files: list[File]
    internal: bool | None = Field(default=None, description="Staff only: a note resellers never see.")


class Ticket(Answer):
    id: str = Field(description="The reseller's own ticket id.")
    number: int = Field(description="Server-assigned, unique across all accounts.")
    order_id: str
    supplier_order_number: int
    description: str | None
    reason: ReasonChoice
    suggested_solution: SolutionChoice
    contact_email: str
    status: StatusChoice
    products: list[TicketLine]
    resolution: Resolution | None = Field(description="Null until solved.")
    history: list[HistoryEntry] = Field(description="Oldest first.")
    messages: list[Message] = Field(description="Oldest first.")
    created_at: Timestamp
    updated_at: Timestamp


class AccountRef(Answer):
    id: int
    name: str


class StaffMember(Answer):
    id: int
    email: str
    name: str | None


class StaffTicket(Ticket):
    """A ticket as staff see it: internal notes too, and who works it."""

    account: AccountRef
    assignee: StaffMember | None
    waiting_since: Timestamp | None = Field(description="Since when the ticket waits on the supplier.")
    version: int = Field(description="Give it back with a status change to refuse a lost update.")


class TicketCreated(Answer):
    status: StatusChoice
    message: str
    ticket: Ticket


class TicketList(Answer):
    tickets: list[Ticket] = Field(description="Newest first.")
    next_cursor: str | None


class StaffTicketList(Answer):
    tickets: list[StaffTicket]
    next_cursor: str | None


class Valid(Answer):
    valid: Literal[True]


# Orders and the catalogue.


class OrderLine(Answer):
    id: ProductId
    code: str | None
    amount: int
    claimable: int | None = Field(
        default=None, description="POST /order/status only: how many items can still be claimed."
    )


class Order(Answer):
    id: str
    supplier_order_number: int
    reference: str | None
    customer_email: str | None
    callback_urls: list[str]
    products: list[OrderLine]
    created_at: Timestamp


class OrderCreated(Answer):
    status: Literal["accepted"]
    message: str
    order: Order


class OrderTicket(Answer):
    id: str
    number: int
    status: StatusChoice
    reason: ReasonChoice


class OrderStatus(Order):
    tickets: list[OrderTicket]


class OrderNotFound(Answer):
    error: Literal["Order not found"]
    query: dict[str, Any] = Field(description="The entry of the request that matched nothing.")


class OrderStatusList(Answer):
    orders: list[OrderStatus | OrderNotFound] = Field(description="In request order.")


class Reason(Answer):
    value: ReasonChoice
    label: str
    explanation: str
    files_required: bool


class ReasonList(Answer):
    reasons: list[Reason]


class Solution(Answer):
    value: SolutionChoice
    label: str
    explanation: str


class SolutionList(Answer):
    solutions: list[Solution]


class Account(Answer):
    id: int
    name: str
    callback_secret: str


# Events and webhooks.


class EventData(Answer):
    event_id: int
    sequence: int = Field(description="Counts the ticket's events from 1, with no gaps.")
    ticket: Ticket = Field(description="The ticket as it was after the event.")


class Event(Answer):
    id: int
    type: EventChoice
    timestamp: Timestamp
    data: EventData


class EventList(Answer):
    events: list[Event] = Field(description="Oldest first.")
    next_since: int = Field(description="Give it as since in the next call.")


class Webhook(Answer):
    id: int
    url: str
    events: list[EventChoice]
    enabled: bool
    disabled_at: Timestamp | None
    failing_since: Timestamp | None
    created_at: Timestamp
    secret: str | None = Field(default=None, description="Only when created or rotated.")
    previous_secret_expires_at: Timestamp | None = Field(
        default=None, description="After a rotation: until when deliveries are signed by the old secret too."
    )


class WebhookList(Answer):
    webhooks: list[Webhook]


class Attempt(Answer):
    number: int
    at: Timestamp
    status_code: int | None
    latency_ms: int | None
    error: str | None


class Delivery(Answer):
    id: int
    webhook_id: int | None = Field(description="Null for a delivery to an order's callback_urls.")
    kind: Literal["endpoint", "callback", "test"]
    url: str
    event_id: int | None
    type: str = Field(description="The event type, or webhook.test.")
    state: Literal["pending", "delivered", "failed"]
    created_at: Timestamp
    finished_at: Timestamp | None
    attempts: list[Attempt]


class DeliveryList(Answer):
    deliveries: list[Delivery]


class DeliveryQueued(Answer):
    delivery: Delivery
