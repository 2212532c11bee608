"""The staff view of all tickets: the reseller list's filters plus account, assignee, age, and the work queue."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.accounts.service import Actor
from claimdesk.exceptions import ValidationFailed
from claimdesk.models import Ticket
from claimdesk.rules.codes import Code
from claimdesk.rules.fields import as_id
from claimdesk.rules.problems import Problem
from claimdesk.tickets.listing import (
    ListQuery,
    TicketFilter,
    decode_cursor,
    encode_cursor,
    filtered_tickets,
    invalid_cursor,
    list_problems,
    list_tickets,
    newest_cursor,
    positive_int,
    time_parameter,
)
from claimdesk.timefmt import parse_rfc3339, rfc3339


class Sort(enum.StrEnum):
    NEWEST = "newest"  # by number, newest first, like GET /tickets
    WAITING = "waiting"  # the work queue: longest waiting for the supplier first; holding and solved last


@dataclass(frozen=True)
class StaffListQuery(ListQuery):
    """The staff list's query parameters as given: the reseller list's and these."""

    account: str | None = None
    assignee: str | None = None
    created_before: str | None = None
    sort: str | None = None


@dataclass(frozen=True)
class StaffQuery:
    filters: TicketFilter
    limit: int
    sort: Sort
    created_before: dt.datetime | None
    before: int | None  # newest: the last number shown
    after: tuple[dt.datetime | None, int] | None  # waiting: the last (waiting_since, number) shown


def _encode_waiting(waiting_since: dt.datetime | None, number: int) -> str:
    return encode_cursor({"w": rfc3339(waiting_since) if waiting_since else None, "after": number})


def _decode_waiting(cursor: str) -> tuple[dt.datetime | None, int] | None:
    data = decode_cursor(cursor)
    if data is None or "w" not in data:
        return None
    after, waiting = positive_int(data.get("after")), data["w"]
    if after is None:
        return None
    if waiting is None:
        return None, after
    since = parse_rfc3339(waiting) if isinstance(waiting, str) else None
    return (since, after) if since is not None else None


def _sort(value: str | None, problems: list[Problem]) -> Sort:
    if value is None:
        return Sort.NEWEST
    try:
        return Sort(value)
    except ValueError:
        problems.append(Problem("sort", Code.INVALID_CHOICE, "sort must be newest or waiting."))
        return Sort.NEWEST


def _account(value: str | None, problems: list[Problem]) -> int | None:
    account_id = as_id(value) if value is not None else None
    if value is not None and account_id is None:
        problems.append(Problem("account", Code.INVALID_TYPE, "account must be an account id (an integer)."))
    return account_id


def _assignee(actor: Actor, value: str | None, problems: list[Problem]) -> int | str | None:
    """A staff id, the caller ("me") or "none" (unassigned)."""
    if value is None:
        return None
    if value == "me":
        return actor.id
    if value == "none":
        return "none"
    staff_id = as_id(value)
    if staff_id is None:
        problems.append(Problem("assignee", Code.INVALID_TYPE, 'assignee must be a staff id, "me" or "none".'))
    return staff_id


def parse_staff_query(actor: Actor, query: StaffListQuery) -> StaffQuery:
    """Every query parameter checked at once; mistakes are reported at their parameter's name."""
    sort_problems: list[Problem] = []
    sort = _sort(query.sort, sort_problems)
    filters, size, before, problems = list_problems(query, newest_cursor=sort is Sort.NEWEST)
    problems += sort_problems
    after = None
    if query.cursor is not None and sort is Sort.WAITING:
        after = _decode_waiting(query.cursor)
        if after is None:
            problems.append(invalid_cursor())
    account_id = _account(query.account, problems)
    assignee = _assignee(actor, query.assignee, problems)
    older = time_parameter("created_before", query.created_before, problems)
    if problems:
        raise ValidationFailed(problems)
    filters = dataclasses.replace(filters, account_id=account_id, assignee=assignee)
    return StaffQuery(filters, size, sort, older, before, after)


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
            next_cursor = newest_cursor(last.id)
        else:
            next_cursor = _encode_waiting(last.waiting_since, last.id)
    return tickets[: query.limit], next_cursor
