"""Typed answers of the claimdesk API.

Every model keeps fields it does not know (``extra="allow"``): a newer server may add fields, and an
older client must neither refuse nor drop them (they are in ``model_extra`` and in ``model_dump()``).
Values the server may extend (statuses, reasons, event types) are plain strings for the same reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    """Base of the API's models: unknown fields are kept, names are the API's own."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class FieldError(Model):
    """One mistake in a request: ``loc`` is the dotted path (``products.0.files``), ``code`` is stable."""

    loc: str
    code: str
    message: str


class Party(Model):
    """Who did something: ``type`` is reseller, staff or system."""

    type: str
    id: int | str | None = None
    name: str | None = None


class EvidenceFile(Model):
    """A photo or PDF: ``state`` is pending, stored or failed (then ``error`` says why)."""

    id: int | None = None
    uri: str | None = None
    state: str
    error: str | None = None
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    download_url: str | None = None
    thumbnail_url: str | None = None


class TicketProduct(Model):
    """A product line of a ticket: the order's product id, how many items, and their evidence files."""

    id: int | str
    code: str | None = None
    amount: int
    granted: int | None = None
    files: list[EvidenceFile] = Field(default_factory=list)


class GrantedLine(Model):
    """How many items of a product line a resolution granted."""

    id: int | str
    granted: int


class Resolution(Model):
    """How a solved ticket ended: ``outcome`` is rework, credit, other or rejected."""

    outcome: str
    note: str | None = None
    products: list[GrantedLine] = Field(default_factory=list)


class HistoryEntry(Model):
    """One step of a ticket's history: ``created``, ``status_changed`` (with ``from``) or ``assigned``."""

    action: str
    status: str
    at: dt.datetime
    by: Party
    from_: str | None = Field(default=None, alias="from")
    resolution: Resolution | None = None
    previous_resolution: Resolution | None = None


class Message(Model):
    """A reply in a ticket's thread."""

    id: int
    body: str
    by: Party
    at: dt.datetime
    files: list[EvidenceFile] = Field(default_factory=list)


class Ticket(Model):
    """A complaint about product lines of one order, with one reason and one suggested solution."""

    id: str
    number: int
    order_id: str
    supplier_order_number: int
    description: str | None = None
    reason: str
    suggested_solution: str
    contact_email: str
    status: str
    products: list[TicketProduct]
    resolution: Resolution | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)
    created_at: dt.datetime
    updated_at: dt.datetime


class TicketReceipt(Model):
    """The answer to filing a ticket.

    ``created`` is True when this call made the ticket: a ``201``, or a ``200 Ticket already received``
    that came after a retry of this same call (the earlier attempt had made it, its answer was lost).
    ``already_received`` is True when the ticket was there before this call (a re-run, a second submit).
    """

    status: str
    message: str
    ticket: Ticket
    created: bool = True

    @property
    def already_received(self) -> bool:
        return not self.created


class ConflictingTicket(Model):
    """The ticket a ``409`` names."""

    id: str
    number: int | None = None
    status: str | None = None


class OrderProduct(Model):
    """A product line of an order. ``claimable`` (in order status answers) is how many can still be claimed."""

    id: int | str
    code: str | None = None
    amount: int
    claimable: int | None = None


class OrderTicket(Model):
    """A ticket on an order, as order status lists it."""

    id: str
    number: int | None = None
    status: str
    reason: str


class Order(Model):
    """A registered order. ``tickets`` is filled in order status answers."""

    id: str
    supplier_order_number: int
    reference: str | None = None
    customer_email: str | None = None
    callback_urls: list[str] = Field(default_factory=list)
    products: list[OrderProduct]
    created_at: dt.datetime | None = None
    tickets: list[OrderTicket] | None = None


class OrderNotFound(Model):
    """An order status lookup that matched no order of the account (``query`` is the lookup)."""

    error: str
    query: dict[str, Any]


class Reason(Model):
    """A reason for a complaint (GET /reasons), in the guide's order."""

    value: str
    label: str
    explanation: str | None = None
    files_required: bool


class Solution(Model):
    """A suggested solution (GET /solutions)."""

    value: str
    label: str
    explanation: str | None = None


class EventData(Model):
    """``sequence`` counts the ticket's events from 1 without gaps; ``ticket`` is the ticket at that moment."""

    event_id: int
    sequence: int
    ticket: Ticket


class Event(Model):
    """A ticket event: ``ticket.created``, ``ticket.status_changed``, ``ticket.message_added``,
    ``ticket.file_failed``. The same body a webhook delivery carries (``id`` is set in GET /events)."""

    id: int | None = None
    type: str
    timestamp: dt.datetime
    data: EventData


class Webhook(Model):
    """A webhook endpoint. ``secret`` is only in the answer that creates it (or rotates its secret)."""

    id: int | str
    url: str
    events: list[str]
    enabled: bool | None = None
    disabled_at: dt.datetime | None = None
    failing_since: dt.datetime | None = None
    secret: str | None = None
    previous_secret_expires_at: dt.datetime | None = None
    created_at: dt.datetime | None = None


class Account(Model):
    """The calling reseller account; ``callback_secret`` signs deliveries to orders' callback URLs."""

    id: int
    name: str
    callback_secret: str | None = None
