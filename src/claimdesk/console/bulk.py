"""Bulk actions on tickets picked in the queue: assign, or move where the move is allowed.

Each ticket goes through the same lifecycle function as the API (``claimdesk.tickets.lifecycle``), in a
savepoint of its own: a ticket that cannot be changed is rolled back alone and says why; the others are done.
Tickets are taken in number order, so two bulk actions at once lock rows in the same order (no deadlock).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from claimdesk.accounts.service import Actor
from claimdesk.exceptions import ClaimdeskError, ValidationFailed
from claimdesk.models import Ticket
from claimdesk.rules.codes import Code
from claimdesk.rules.fields import as_id
from claimdesk.rules.problems import Problem
from claimdesk.tickets import lifecycle, lookup

MAX_TICKETS = 200


class Outcome(enum.StrEnum):
    DONE = "done"
    UNCHANGED = "unchanged"  # already so
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class BulkResult:
    number: int
    outcome: Outcome
    message: str
    status: str | None = None  # the ticket's status afterwards, when it exists

    @property
    def ok(self) -> bool:
        return self.outcome is not Outcome.REFUSED


def ticket_numbers(values: Sequence[Any]) -> list[int]:
    """The picked ticket numbers, each once, in number order; every mistake at ``tickets``."""
    numbers = []
    for value in values:
        number = as_id(str(value))
        if number is None:
            raise ValidationFailed([Problem("tickets", Code.INVALID_TYPE, f"{value!s:.40} is no ticket number.")])
        numbers.append(number)
    if not numbers:
        raise ValidationFailed([Problem("tickets", Code.REQUIRED, "Pick at least one ticket.")])
    if len(set(numbers)) > MAX_TICKETS:
        raise ValidationFailed([Problem("tickets", Code.TOO_MANY, f"At most {MAX_TICKETS} tickets at once.")])
    return sorted(set(numbers))


def _each(
    session: Session, numbers: Sequence[int], change: Callable[[int], tuple[Ticket, bool]], done: str
) -> list[BulkResult]:
    results = []
    for number in numbers:
        savepoint = session.begin_nested()
        try:
            ticket, changed = change(number)
            session.flush()
        except ClaimdeskError as exc:
            savepoint.rollback()
            results.append(BulkResult(number, Outcome.REFUSED, exc.message))
            continue
        savepoint.commit()
        if changed:
            results.append(BulkResult(number, Outcome.DONE, done, ticket.status))
        else:
            results.append(BulkResult(number, Outcome.UNCHANGED, "Nothing to change.", ticket.status))
    return results


def bulk_assign(session: Session, actor: Actor, numbers: Sequence[int], assignee: int | str | None) -> list[BulkResult]:
    """Assign each ticket to ``assignee`` (a staff id, "me", or None for nobody)."""

    def change(number: int) -> tuple[Ticket, bool]:
        before = lookup.numbered_ticket(session, number).version
        ticket = lifecycle.assign(session, actor, str(number), {"assignee": assignee})
        return ticket, ticket.version != before

    return _each(session, numbers, change, "Assigned." if assignee is not None else "Unassigned.")


def bulk_move(
    session: Session, actor: Actor, numbers: Sequence[int], status: str, *, message: str | None = None
) -> list[BulkResult]:
    """Move each ticket to ``status`` where the statuses table allows it (with an optional public message).

    Solving needs a resolution per ticket, which a bulk move has not: such a move is refused like any
    other the lifecycle refuses, with its reason."""
    body: dict[str, Any] = {"status": status}
    if message:
        body["message"] = message

    def change(number: int) -> tuple[Ticket, bool]:
        return lifecycle.change_status(session, actor, str(number), body), True

    return _each(session, numbers, change, f"Moved to {status}.")
