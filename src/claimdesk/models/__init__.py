"""SQLAlchemy models, one module per area. Importing this package registers every table."""

from .accounts import Account, ApiKey, ApiKeyEpoch, Staff
from .base import Base, utcnow
from .console import DashboardPeriod, DashboardRollup
from .events import Event, Job
from .orders import Order, OrderProduct
from .tickets import FILE_PENDING, EvidenceFile, HistoryEntry, Message, Ticket, TicketProduct
from .web import User, WebSession
from .webhooks import EventDispatch, WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "FILE_PENDING",
    "Account",
    "ApiKey",
    "ApiKeyEpoch",
    "Base",
    "DashboardPeriod",
    "DashboardRollup",
    "Event",
    "EventDispatch",
    "EvidenceFile",
    "HistoryEntry",
    "Job",
    "Message",
    "Order",
    "OrderProduct",
    "Staff",
    "Ticket",
    "TicketProduct",
    "User",
    "WebSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "utcnow",
]
