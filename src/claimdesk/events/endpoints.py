"""GET /events: a reseller's own ticket events, oldest first, so an integration can reconcile without webhooks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from claimdesk.api.answers import EventList
from claimdesk.api.deps import ResellerDep, ServicesDep
from claimdesk.api.docs import answers
from claimdesk.api.listing import Limit
from claimdesk.exceptions import ValidationFailed
from claimdesk.rules.codes import Code
from claimdesk.rules.fields import ascii_int
from claimdesk.rules.problems import Problem
from claimdesk.validation import page_size

from .service import event_view, list_events

router = APIRouter(tags=["events"])

MAX_EVENT_ID = 2**63 - 1


def parse_events_query(since: str | None, limit: str | None) -> tuple[int, int]:
    """``since`` (an event id, default 0) and ``limit`` (1 to 200, default 50); every mistake at once."""
    problems = []
    after = 0
    if since is not None:
        value = ascii_int(since.strip())
        if value is not None and value <= MAX_EVENT_ID:
            after = value
        else:
            problems.append(Problem("since", Code.INVALID_TYPE, "since must be an event id (an integer, 0 or more)."))
    size = page_size(limit, problems)
    if problems:
        raise ValidationFailed(problems)
    return after, size


@router.get(
    "/events",
    operation_id="list_events",
    response_model=None,
    responses=answers(EventList, "Events after since.", 401, 403, 422, 429),
)
def events(
    *,
    actor: ResellerDep,
    services: ServicesDep,
    since: str | None = Query(None, description="the last event id you have seen (next_since of the last call)"),
    limit: Limit = None,
) -> JSONResponse:
    """Your tickets' events after ``since``, oldest first: the same events the webhooks deliver."""
    after, size = parse_events_query(since, limit)
    assert actor.id is not None
    account_id = actor.id

    def unit(session: Session) -> dict[str, Any]:
        found = list_events(session, account_id, after, size)
        return {"events": [event_view(e) for e in found], "next_since": found[-1].id if found else after}

    return JSONResponse(services.db.read(unit))
