"""The work queue: a page of tickets across accounts with what a row shows, and the counts per status.

A page costs a fixed handful of queries whatever its size: the tickets (with their lines), then one query
each for their accounts, assignees, order lines and evidence states.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.models import Account, EvidenceFile, OrderProduct, Staff, Ticket
from claimdesk.rules.statuses import TicketStatus
from claimdesk.staff.service import StaffQuery, staff_filtered

from .search import Search, exact_match, list_or_search, word_match


@dataclass(frozen=True, slots=True)
class ClaimedLine:
    ref: int | str
    code: str | None
    amount: int
    granted: int | None


@dataclass(frozen=True, slots=True)
class EvidenceState:
    """How many of a ticket's files wait to be fetched, are stored, or failed."""

    pending: int = 0
    stored: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.stored + self.failed


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class QueueRow:
    number: int
    external_id: str
    account: Person
    reason: str
    status: str
    lines: list[ClaimedLine]
    created_at: dt.datetime
    waiting_since: dt.datetime | None
    updated_at: dt.datetime
    assignee: Person | None
    evidence: EvidenceState
    version: int

    @property
    def items_claimed(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None
    counts: dict[TicketStatus, int] = field(default_factory=dict)  # per status, under every filter but status

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def queue_rows(session: Session, tickets: Sequence[Ticket]) -> list[QueueRow]:
    """The rows of these tickets, in their order."""
    if not tickets:
        return []
    ids = [t.id for t in tickets]
    accounts: dict[int, str] = dict(
        session.execute(
            sa.select(Account.id, Account.name).where(Account.id.in_({t.account_id for t in tickets}))
        ).all()
    )
    assignee_ids = {t.assignee_id for t in tickets if t.assignee_id is not None}
    staff: dict[int, Person] = {}
    if assignee_ids:
        for staff_id, name, email in session.execute(
            sa.select(Staff.id, Staff.name, Staff.email).where(Staff.id.in_(assignee_ids))
        ):
            staff[staff_id] = Person(staff_id, name or email)
    line_ids = {p.order_product_id for t in tickets for p in t.products}
    lines = {p.id: p for p in session.scalars(sa.select(OrderProduct).where(OrderProduct.id.in_(line_ids)))}
    states: dict[int, dict[str, int]] = defaultdict(dict)
    for ticket_id, state, count in session.execute(
        sa.select(EvidenceFile.ticket_id, EvidenceFile.state, sa.func.count())
        .where(EvidenceFile.ticket_id.in_(ids))
        .group_by(EvidenceFile.ticket_id, EvidenceFile.state)
    ):
        states[ticket_id][state] = int(count)
    return [
        QueueRow(
            number=t.id,
            external_id=t.external_id,
            account=Person(t.account_id, accounts[t.account_id]),
            reason=t.reason,
            status=t.status,
            lines=[
                ClaimedLine(lines[p.order_product_id].ref, lines[p.order_product_id].code, p.amount, p.granted)
                for p in t.products
            ],
            created_at=t.created_at,
            waiting_since=t.waiting_since,
            updated_at=t.updated_at,
            assignee=staff.get(t.assignee_id) if t.assignee_id is not None else None,
            evidence=EvidenceState(**states.get(t.id, {})),
            version=t.version,
        )
        for t in tickets
    ]


def status_counts(session: Session, query: StaffQuery, search: Search | None) -> dict[TicketStatus, int]:
    """Tickets per status under every filter of the query except the status itself (the queue's tabs)."""
    unfiltered = dataclasses.replace(query, filters=dataclasses.replace(query.filters, status=None))
    select = staff_filtered(unfiltered)
    if search is not None:
        select = select.where(sa.or_(word_match(session, search), exact_match(search)))
    counted = select.with_only_columns(Ticket.status, sa.func.count()).group_by(Ticket.status)
    found = {status: int(count) for status, count in session.execute(counted)}
    return {status: found.get(status.value, 0) for status in TicketStatus}


def queue_page(session: Session, query: StaffQuery, search: Search | None = None) -> QueuePage:
    """A page of the queue (in the query's order, searched when ``search`` is given) and the tab counts."""
    tickets, next_cursor = list_or_search(session, query, search)
    return QueuePage(queue_rows(session, tickets), next_cursor, status_counts(session, query, search))
