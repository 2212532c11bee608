"""Ticket events: recorded in the same transaction as the change, numbered per ticket without gaps.

Each event also enqueues one ``dispatch_event`` job, which the worker fans out to the account's webhook
endpoints and the order's callback URLs; so a committed change always reaches its subscribers, and a
change that was rolled back never does.
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.jobs import JobName, enqueue_many
from claimdesk.models import Event, Ticket, utcnow
from claimdesk.models.rows import event_row
from claimdesk.rules.events import EventType
from claimdesk.timefmt import rfc3339

_EVENTS = cast(sa.Table, Event.__table__)
_INSERT_EVENT = sa.insert(_EVENTS).returning(_EVENTS.c.id)


def record_event(session: Session, ticket: Ticket, event_type: EventType, view: dict[str, Any]) -> int:
    """Record ``view``, what the reseller sees of ``ticket`` now, as the ticket's next event; returns its id.

    The view is the caller's to build (``claimdesk.tickets``): events sit below the tickets package.
    """
    session.flush()
    ticket.event_seq += 1
    row = event_row(
        account_id=ticket.account_id,
        ticket_id=ticket.id,
        event_type=event_type.value,
        sequence=ticket.event_seq,
        ticket=view,
        at=utcnow(),
    )
    # A plain INSERT ... RETURNING skips the unit of work's bookkeeping: this runs on every change.
    event_id: int = session.execute(_INSERT_EVENT, row).scalar_one()
    enqueue_many(session, JobName.DISPATCH_EVENT, [event_id])
    return event_id


def event_view(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "timestamp": rfc3339(event.created_at),
        "data": {"event_id": event.id, "sequence": event.sequence, "ticket": event.ticket},
    }


def list_events(session: Session, account_id: int, since: int, limit: int) -> list[Event]:
    return list(
        session.scalars(
            sa.select(Event).where(Event.account_id == account_id, Event.id > since).order_by(Event.id).limit(limit)
        )
    )
