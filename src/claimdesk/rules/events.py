"""The ticket events of the contract: what a reseller can subscribe to and read back from GET /events."""

from __future__ import annotations

import enum


class EventType(enum.StrEnum):
    TICKET_CREATED = "ticket.created"
    TICKET_STATUS_CHANGED = "ticket.status_changed"
    TICKET_MESSAGE_ADDED = "ticket.message_added"
    TICKET_FILE_FAILED = "ticket.file_failed"
