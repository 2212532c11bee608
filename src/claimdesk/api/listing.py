"""The query parameters of the lists, declared once for the HTTP layer: each has its name, its text in the
API docs and its default here, and comes to the service as the plain values it was given (strings: the
service checks them all at once, so that a client sees every mistake in one answer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from claimdesk.staff.service import StaffListQuery
from claimdesk.tickets.listing import ListQuery

Limit = Annotated[str | None, Query(description="1 to 200, default 50")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
SearchText = Annotated[
    str | None,
    Query(
        description="search: a ticket number, ticket id, order id or product code, or words of the description "
        "and messages (each a prefix, all required); exact number and ids first"
    ),
]


def ticket_list_query(
    *,
    status: Annotated[str | None, Query(description="open, pending, holding or solved")] = None,
    reason: Annotated[str | None, Query(description="one of GET /reasons")] = None,
    order_id: Annotated[str | None, Query(description="the reseller's own order id")] = None,
    updated_since: Annotated[str | None, Query(description="RFC 3339; tickets changed at or after it")] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> ListQuery:
    return ListQuery(
        status=status, reason=reason, order_id=order_id, updated_since=updated_since, limit=limit, cursor=cursor
    )


TicketListQueryDep = Annotated[ListQuery, Depends(ticket_list_query)]


@dataclass(frozen=True)
class _StaffOnly:
    account: str | None
    assignee: str | None
    created_before: str | None
    sort: str | None


def _staff_only(
    *,
    account: Annotated[str | None, Query(description="an account id")] = None,
    assignee: Annotated[str | None, Query(description='a staff id, "me" or "none"')] = None,
    created_before: Annotated[str | None, Query(description="RFC 3339; tickets filed before it (their age)")] = None,
    sort: Annotated[
        str | None, Query(description="newest (default) or waiting: the work queue, longest waiting first")
    ] = None,
) -> _StaffOnly:
    return _StaffOnly(account, assignee, created_before, sort)


def staff_list_query(base: TicketListQueryDep, extra: Annotated[_StaffOnly, Depends(_staff_only)]) -> StaffListQuery:
    """The reseller list's parameters, then the staff list's own (in this order in the API docs too)."""
    return StaffListQuery(**vars(base), **vars(extra))


StaffListQueryDep = Annotated[StaffListQuery, Depends(staff_list_query)]
