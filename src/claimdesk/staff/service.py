"""The staff view of all tickets: the reseller list's filters plus account, assignee, age, and the work queue."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import enum
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.accounts.service import Actor
from claimdesk.exceptions import ValidationFailed
from claimdesk.models import Ticket
from claimdesk.rules.fields import as_id
from claimdesk.rules.problems import Problem
from claimdesk.tickets.service import TicketFilter, encode_cursor, filtered_tickets, list_tickets, parse_list_query
from claimdesk.timefmt import parse_rfc3339, rfc3339


class Sort(enum.StrEnum):
    NEWEST = "newest"  # by number, newest first, like GET /tickets
    WAITING = "waiting"  # the work queue: longest waiting for the supplier first; holding and solved last


@dataclass(frozen=True)
class StaffQuery:
    filters: TicketFilter
    limit: int
    sort: Sort
    created_before: dt.datetime | None
    before: int | None  # newest: the last number shown
    after: tuple[dt.datetime | None, int] | None  # waiting: the last (waiting_since, number) shown


def _encode_waiting(waiting_since: dt.datetime | None, number: int) -> str:
    data = {"w": rfc3339(waiting_since) if waiting_since else None, "after": number}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _decode_waiting(cursor: str) -> tuple[dt.datetime | None, int] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after, waiting = data["after"], data["w"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    if not isinstance(after, int) or isinstance(after, bool) or after <= 0:
        return None
    if waiting is None:
        return None, after
    since = parse_rfc3339(waiting) if isinstance(waiting, str) else None
    return (since, after) if since is not None else None


def parse_staff_query(
    actor: Actor,
    *,
    status: str | None,
    reason: str | None,
    order_id: str | None,
    updated_since: str | None,
    limit: str | None,
    cursor: str | None,
    account: str | None,
    assignee: str | None,
    created_before: str | None,
    sort: str | None,
) -> StaffQuery:
    """Every query parameter checked at once; mistakes are reported at their parameter's name."""
    problems: list[Problem] = []
    sort_value = Sort.NEWEST
    if sort is not None:
        try:
            sort_value = Sort(sort)
        except ValueError:
            problems.append(Problem("sort", "invalid_choice", "sort must be newest or waiting."))
    filters, size, before = TicketFilter(), 50, None
    try:
        filters, size, before = parse_list_query(
            status=status,
            reason=reason,
            order_id=order_id,
            updated_since=updated_since,
            limit=limit,
            cursor=cursor if sort_value is Sort.NEWEST else None,
        )
    except ValidationFailed as exc:
        problems = exc.problems + problems
    after = None
    if cursor is not None and sort_value is Sort.WAITING:
        after = _decode_waiting(cursor)
        if after is None:
            problems.append(Problem("cursor", "invalid_type", "cursor is not one this service gave out."))
    account_id: int | None = None
    if account is not None:
        account_id = as_id(account)
        if account_id is None:
            problems.append(Problem("account", "invalid_type", "account must be an account id (an integer)."))
    assignee_value: int | str | None = None
    if assignee is not None:
        if assignee == "me":
            assignee_value = actor.id
        elif assignee == "none":
            assignee_value = "none"
        elif (staff_id := as_id(assignee)) is not None:
            assignee_value = staff_id
        else:
            problems.append(Problem("assignee", "invalid_type", 'assignee must be a staff id, "me" or "none".'))
    older = None
    if created_before is not None:
        older = parse_rfc3339(created_before)
        if older is None:
            problems.append(
                Problem(
                    "created_before",
                    "invalid_type",
                    "created_before must be an RFC 3339 time, like 2026-01-31T12:00:00Z.",
                )
            )
    if problems:
        raise ValidationFailed(problems)
    filters = dataclasses.replace(filters, account_id=account_id, assignee=assignee_value)
    return StaffQuery(filters, size, sort_value, older, before, after)


def staff_filtered(query: StaffQuery) -> sa.Select[Ticket]:
    """The tickets matching the query's filters (its age included), in no particular order."""
    select = filtered_tickets(query.filters)
    if query.created_before is not None:
        select = select.where(Ticket.created_at < query.created_before)
    return select


def list_staff_tickets(
    session: Session, query: StaffQuery, restrict: sa.ColumnElement[bool] | None = None
) -> tuple[list[Ticket], str | None]:
    """A page in the query's order; ``restrict`` narrows it further (the console's search)."""
    if query.sort is Sort.NEWEST and query.created_before is None and restrict is None:
        return list_tickets(session, query.filters, query.limit, query.before)
    select = staff_filtered(query)
    if restrict is not None:
        select = select.where(restrict)
    if query.sort is Sort.NEWEST:
        select = select.order_by(Ticket.id.desc())
        if query.before is not None:
            select = select.where(Ticket.id < query.before)
    else:
        waiting_last = Ticket.waiting_since.is_(None)
        select = select.order_by(waiting_last, Ticket.waiting_since, Ticket.id)
        if query.after is not None:
            since, number = query.after
            if since is None:
                select = select.where(waiting_last, Ticket.id > number)
            else:
                select = select.where(
                    sa.or_(
                        waiting_last,
                        Ticket.waiting_since > since,
                        sa.and_(Ticket.waiting_since == since, Ticket.id > number),
                    )
                )
    tickets = list(session.scalars(select.limit(query.limit + 1)))
    next_cursor = None
    if len(tickets) > query.limit:
        last = tickets[query.limit - 1]
        if query.sort is Sort.NEWEST:
            next_cursor = encode_cursor(last.id)
        else:
            next_cursor = _encode_waiting(last.waiting_since, last.id)
    return tickets[: query.limit], next_cursor
