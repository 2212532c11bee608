"""Finding one ticket: by the reseller's own id (only within its account) or by its number (staff), plain or
locked for the rest of the unit of work. Every route with a ticket in its path comes here.

An id that no ticket can have (longer than a ticket id may be, or text the database would refuse: NUL,
control characters, a lone surrogate) is answered like an unknown one, without a query: PostgreSQL
refuses NUL in text with an error, so such an id must never reach it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.exceptions import NotFound
from claimdesk.models import Ticket
from claimdesk.rules.fields import as_id, is_clean_text

# TicketIn.id is Text(64): no ticket has a longer id.
MAX_TICKET_ID = 64

_BY_EXTERNAL_ID = sa.select(Ticket).where(
    Ticket.account_id == sa.bindparam("account_id"), Ticket.external_id == sa.bindparam("external_id")
)
_BY_NUMBER = sa.select(Ticket).where(Ticket.id == sa.bindparam("number"))
# A locked read sees the row as it is now, not as this session cached it before the lock.
_LOCKED = {"populate_existing": True}


def can_exist(external_id: str) -> bool:
    """Whether some ticket could have this id: 1 to 64 characters of clean text."""
    return 1 <= len(external_id) <= MAX_TICKET_ID and is_clean_text(external_id)


def _shown(text: str) -> str:
    """``text`` as a message may quote it: short, and escaped unless it is clean (an answer must encode)."""
    return text if can_exist(text) else repr(text[:MAX_TICKET_ID])[1:-1]


def reseller_ticket(session: Session, account_id: int, external_id: str, *, for_update: bool = False) -> Ticket:
    """The account's ticket with the reseller's id ``external_id``; another account's answers 404 too."""
    ticket = None
    if can_exist(external_id):
        query = _BY_EXTERNAL_ID.with_for_update().execution_options(**_LOCKED) if for_update else _BY_EXTERNAL_ID
        ticket = session.scalar(query, {"account_id": account_id, "external_id": external_id})
    if ticket is None:
        raise NotFound(f"Ticket '{_shown(external_id)}' not found.")
    return ticket


def numbered_ticket(session: Session, number: str | int, *, for_update: bool = False) -> Ticket:
    """The ticket with this number (any account: staff address tickets by number)."""
    text = str(number)
    key = as_id(text)
    ticket = None
    if key is not None:
        query = _BY_NUMBER.with_for_update().execution_options(**_LOCKED) if for_update else _BY_NUMBER
        ticket = session.scalar(query, {"number": key})
    if ticket is None:
        raise NotFound(f"Ticket number {_shown(text)} not found.")
    return ticket
