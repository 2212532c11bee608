"""The supplier's side of a ticket: its statuses, the moves between them and how it can end."""

from __future__ import annotations

import enum


class TicketStatus(enum.StrEnum):
    OPEN = "open"  # received, not yet processed
    PENDING = "pending"  # an employee is working on it
    HOLDING = "holding"  # waiting for a response
    SOLVED = "solved"

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]

    def allowed_moves(self) -> tuple[TicketStatus, ...]:
        return TRANSITIONS[self]

    def can_move_to(self, other: TicketStatus) -> bool:
        return other in TRANSITIONS[self]

    @property
    def is_solved(self) -> bool:
        return self is TicketStatus.SOLVED

    @property
    def waits_for_supplier(self) -> bool:
        """Open and pending tickets wait on the supplier; the staff work queue sorts them by how long."""
        return self in (TicketStatus.OPEN, TicketStatus.PENDING)


_EXPLANATIONS = {
    TicketStatus.OPEN: "Complaint has been received but not yet processed.",
    TicketStatus.PENDING: "Complaint is being processed by an employee.",
    TicketStatus.HOLDING: "Complaint awaits a response.",
    TicketStatus.SOLVED: "Complaint is resolved.",
}

# The one table of allowed moves; tests generate their cases from it.
TRANSITIONS: dict[TicketStatus, tuple[TicketStatus, ...]] = {
    TicketStatus.OPEN: (TicketStatus.PENDING, TicketStatus.HOLDING, TicketStatus.SOLVED),
    TicketStatus.PENDING: (TicketStatus.HOLDING, TicketStatus.SOLVED),
    TicketStatus.HOLDING: (TicketStatus.PENDING, TicketStatus.SOLVED),
    TicketStatus.SOLVED: (TicketStatus.PENDING,),
}


class Outcome(enum.StrEnum):
    """How a solved ticket ended. ``rejected`` gives the claimed items back to the order line."""

    REWORK = "rework"
    CREDIT = "credit"
    OTHER = "other"
    REJECTED = "rejected"

    @property
    def releases_items(self) -> bool:
        return self is Outcome.REJECTED
