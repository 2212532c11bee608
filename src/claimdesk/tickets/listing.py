"""Lists of tickets: the query parameters as received, checked at once, the filters they make, the page
cursors, and the newest-first page. The reseller's list (GET /tickets) is this; the staff list
(``claimdesk.staff.service``) adds its parameters and the work queue on top.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.exceptions import ValidationFailed
from claimdesk.models import Order, Ticket
from claimdesk.rules.catalogue import Reason
from claimdesk.rules.codes import Code
from claimdesk.rules.fields import is_clean_text
from claimdesk.rules.problems import Problem
from claimdesk.rules.statuses import TicketStatus
from claimdesk.timefmt import parse_rfc3339
from claimdesk.validation import page_size


@dataclass(frozen=True)
class ListQuery:
    """The reseller list's query parameters, as the request gave them (the HTTP layer declares them once,
    ``claimdesk.api.listing``)."""

    status: str | None = None
    reason: str | None = None
    order_id: str | None = None
    updated_since: str | None = None
    limit: str | None = None
    cursor: str | None = None


@dataclass(frozen=True)
class TicketFilter:
    status: TicketStatus | None = None
    reason: Reason | None = None
    order_id: str | None = None
    updated_since: dt.datetime | None = None
    account_id: int | None = None
    assignee: int | str | None = None  # a staff id, or "none"


# --- cursors: opaque to clients, a small JSON object in URL-safe base64 without padding ---


def encode_cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any] | None:
    """The object in a cursor this service gave out; None for anything else."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        return None
    return data if isinstance(data, dict) else None


def positive_int(value: Any) -> int | None:
    """A ticket number as a cursor holds it (JSON booleans are no numbers)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def newest_cursor(last_number: int) -> str:
    """The cursor after a newest-first page: the last number shown."""
    return encode_cursor({"before": last_number})


def _before(cursor: str) -> int | None:
    data = decode_cursor(cursor)
    return positive_int(data.get("before")) if data is not None else None


# --- parameters ---


def time_parameter(name: str, value: str | None, problems: list[Problem]) -> dt.datetime | None:
    """An RFC 3339 time parameter; a mistake is added to ``problems``."""
    if value is None:
        return None
    parsed = parse_rfc3339(value)
    if parsed is None:
        problems.append(
            Problem(name, Code.INVALID_TYPE, f"{name} must be an RFC 3339 time, like 2026-01-31T12:00:00Z.")
        )
    return parsed


def invalid_cursor() -> Problem:
    return Problem("cursor", Code.INVALID_TYPE, "cursor is not one this service gave out.")


def _status(value: str | None, problems: list[Problem]) -> TicketStatus | None:
    if value is None:
        return None
    try:
        return TicketStatus(value)
    except ValueError:
        choices = ", ".join(s.value for s in TicketStatus)
        problems.append(Problem("status", Code.INVALID_CHOICE, f"status must be one of {choices}."))
        return None


def _reason(value: str | None, problems: list[Problem]) -> Reason | None:
    if value is None:
        return None
    try:
        return Reason(value)
    except ValueError:
        problems.append(Problem("reason", Code.INVALID_CHOICE, "reason must be one of the values of GET /reasons."))
        return None


def _order_id(value: str | None, problems: list[Problem]) -> str | None:
    if value is not None and not is_clean_text(value):
        problems.append(Problem("order_id", Code.INVALID_TEXT, "order_id contains NUL or other control characters."))
        return None
    return value


def list_problems(
    query: ListQuery, *, newest_cursor: bool = True
) -> tuple[TicketFilter, int, int | None, list[Problem]]:
    """The filters, page size and (``newest_cursor``: the cursor is a newest-first one) the number to list
    before, with every mistake at its parameter's name."""
    problems: list[Problem] = []
    status = _status(query.status, problems)
    reason = _reason(query.reason, problems)
    since = time_parameter("updated_since", query.updated_since, problems)
    order_id = _order_id(query.order_id, problems)
    filters = TicketFilter(status=status, reason=reason, order_id=order_id, updated_since=since)
    size = page_size(query.limit, problems)
    before = None
    if query.cursor is not None and newest_cursor:
        before = _before(query.cursor)
        if before is None:
            problems.append(invalid_cursor())
    return filters, size, before, problems


def parse_list_query(query: ListQuery) -> tuple[TicketFilter, int, int | None]:
    """The reseller list's filters, page size and cursor; every mistake at once (422)."""
    filters, size, before, problems = list_problems(query)
    if problems:
        raise ValidationFailed(problems)
    return filters, size, before


# --- the list ---


def filtered_tickets(filters: TicketFilter) -> sa.Select[Ticket]:
    """The tickets matching ``filters``, in no particular order."""
    query = sa.select(Ticket)
    if filters.account_id is not None:
        query = query.where(Ticket.account_id == filters.account_id)
    if filters.status is not None:
        query = query.where(Ticket.status == filters.status.value)
    if filters.reason is not None:
        query = query.where(Ticket.reason == filters.reason.value)
    if filters.order_id is not None:
        query = query.join(Order, Order.id == Ticket.order_id).where(Order.external_id == filters.order_id)
    if filters.updated_since is not None:
        query = query.where(Ticket.updated_at >= filters.updated_since)
    if filters.assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif isinstance(filters.assignee, int):
        query = query.where(Ticket.assignee_id == filters.assignee)
    return query


def list_tickets(
    session: Session, filters: TicketFilter, limit: int, before: int | None
) -> tuple[list[Ticket], str | None]:
    """Newest first. The cursor is the last number shown: new tickets get higher numbers, so a page
    never shows a ticket twice or skips one while tickets are being added."""
    query = filtered_tickets(filters).order_by(Ticket.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(Ticket.id < before)
    tickets = list(session.scalars(query))
    next_cursor = newest_cursor(tickets[limit - 1].id) if len(tickets) > limit else None
    return tickets[:limit], next_cursor
