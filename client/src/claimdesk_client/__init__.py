"""claimdesk_client: the Python SDK of the claimdesk ticket API.

::

    from claimdesk_client import Client

    with Client() as client:  # CLAIMDESK_URL, CLAIMDESK_API_KEY
        receipt = client.tickets.create({...})
        for ticket in client.tickets.list(status="holding"):
            ...
"""

from . import webhooks
from ._client import AsyncClient, Client, ConfigurationError
from ._exceptions import (
    APIError,
    AuthenticationFailed,
    BadRequest,
    ClaimdeskError,
    Conflict,
    ConnectionFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TimedOut,
    ValidationFailed,
)
from ._limiter import RateLimiter
from ._models import (
    Account,
    ConflictingTicket,
    Event,
    EventData,
    EvidenceFile,
    FieldError,
    GrantedLine,
    HistoryEntry,
    Message,
    Order,
    OrderNotFound,
    OrderProduct,
    OrderTicket,
    Party,
    Reason,
    Resolution,
    Solution,
    Ticket,
    TicketProduct,
    TicketReceipt,
    Webhook,
)
from ._retry import NO_RETRIES, RetryPolicy
from ._version import __version__
from .webhooks import WebhookVerificationFailed

__all__ = [
    "NO_RETRIES",
    "APIError",
    "Account",
    "AsyncClient",
    "AuthenticationFailed",
    "BadRequest",
    "ClaimdeskError",
    "Client",
    "ConfigurationError",
    "Conflict",
    "ConflictingTicket",
    "ConnectionFailed",
    "Event",
    "EventData",
    "EvidenceFile",
    "FieldError",
    "GrantedLine",
    "HistoryEntry",
    "Message",
    "NotFound",
    "Order",
    "OrderNotFound",
    "OrderProduct",
    "OrderTicket",
    "Party",
    "PermissionDenied",
    "RateLimited",
    "RateLimiter",
    "Reason",
    "Resolution",
    "RetryPolicy",
    "ServerError",
    "Solution",
    "Ticket",
    "TicketProduct",
    "TicketReceipt",
    "TimedOut",
    "ValidationFailed",
    "Webhook",
    "WebhookVerificationFailed",
    "__version__",
    "webhooks",
]
