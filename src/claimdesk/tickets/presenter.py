"""How a ticket is shown: to its reseller (never internal notes) or to staff (everything).

Views of many tickets are built with one query per related table, not one per ticket.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.models import Account, EvidenceFile, HistoryEntry, Message, Order, OrderProduct, Staff, Ticket
from claimdesk.timefmt import rfc3339


class Audience(enum.Enum):
    RESELLER = "reseller"
    STAFF = "staff"


# What a view reads of a ticket, its lines, files and history: the models, or (for a ticket just filed,
# whose view is built from what was written) plain rows, which cost a fraction of an ORM object to make.


class FileLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def uri(self) -> str | None: ...
    @property
    def state(self) -> str: ...
    @property
    def filename(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def size(self) -> int | None: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def thumbnail_key(self) -> str | None: ...


class HistoryLike(Protocol):
    @property
    def action(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def at(self) -> dt.datetime: ...
    @property
    def by_type(self) -> str: ...
    @property
    def by_id(self) -> int | None: ...
    @property
    def by_name(self) -> str | None: ...
    @property
    def details(self) -> dict[str, Any]: ...


class LineLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def order_product_id(self) -> int: ...
    @property
    def amount(self) -> int: ...
    @property
    def granted(self) -> int | None: ...


class TicketLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def external_id(self) -> str: ...
    @property
    def order_id(self) -> int: ...
    @property
    def description(self) -> str | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def suggested_solution(self) -> str: ...
    @property
    def contact_email(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def resolution(self) -> dict[str, Any] | None: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def updated_at(self) -> dt.datetime: ...
    @property
    def products(self) -> Sequence[LineLike]: ...


def _by(kind: str, by_id: int | None, name: str | None) -> dict[str, Any]:
    return {"type": kind, "id": by_id, "name": name}


def file_view(file: FileLike, audience: Audience) -> dict[str, Any]:
    view: dict[str, Any] = {"id": file.id, "uri": file.uri, "state": file.state}
    if file.filename is not None:
        view["filename"] = file.filename
    if file.state == "failed":
        view["error"] = file.error
    if file.state == "stored":
        base = "/staff/files" if audience is Audience.STAFF else "/files"
        view.update(
            content_type=file.content_type,
            size=file.size,
            sha256=file.sha256,
            download_url=f"{base}/{file.id}",
            thumbnail_url=f"{base}/{file.id}/thumbnail" if file.thumbnail_key else None,
        )
    return view


def history_view(entry: HistoryLike) -> dict[str, Any]:
    view: dict[str, Any] = {
        "action": entry.action,
        "status": entry.status,
        "at": rfc3339(entry.at),
        "by": _by(entry.by_type, entry.by_id, entry.by_name),
    }
    view.update(entry.details)
    return view


def message_view(message: Message, files: Sequence[FileLike], audience: Audience) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": message.id,
        "body": message.body,
        "by": _by(message.by_type, message.by_id, message.by_name),
        "at": rfc3339(message.created_at),
        "files": [file_view(f, audience) for f in files],
    }
    if audience is Audience.STAFF:
        view["internal"] = message.internal
    return view


@dataclass
class Related:
    """What a ticket's view needs besides the ticket row, for a batch of tickets."""

    orders: dict[int, str] = field(default_factory=dict)  # order id -> the reseller's order id
    lines: dict[int, tuple[int | str, str | None]] = field(default_factory=dict)  # order line id -> (ref, code)
    line_files: dict[int, list[FileLike]] = field(default_factory=lambda: defaultdict(list))
    message_files: dict[int, list[FileLike]] = field(default_factory=lambda: defaultdict(list))
    messages: dict[int, list[Message]] = field(default_factory=lambda: defaultdict(list))
    history: dict[int, list[HistoryLike]] = field(default_factory=lambda: defaultdict(list))
    extra: dict[int, dict[str, Any]] = field(default_factory=dict)


def load_related(session: Session, tickets: Sequence[Ticket], audience: Audience) -> Related:
    """One query per related table for the whole batch."""
    related = Related()
    ids = [t.id for t in tickets]
    related.orders = _order_ids(session, tickets)
    related.lines = _line_refs(session, tickets)
    _add_files(session, ids, related)
    _add_messages(session, ids, audience, related)
    _add_history(session, ids, audience, related)
    if audience is Audience.STAFF:
        related.extra = _staff_facts(session, tickets)
    return related


def _order_ids(session: Session, tickets: Sequence[Ticket]) -> dict[int, str]:
    """Order id -> the reseller's own id of the order."""
    query = sa.select(Order.id, Order.external_id).where(Order.id.in_({t.order_id for t in tickets}))
    return {row.id: row.external_id for row in session.execute(query)}


def _line_refs(session: Session, tickets: Sequence[Ticket]) -> dict[int, tuple[int | str, str | None]]:
    """Order line id -> (the product id the reseller knows, its code)."""
    line_ids = {p.order_product_id for t in tickets for p in t.products}
    if not line_ids:
        return {}
    return {
        p.id: (p.ref, p.code) for p in session.scalars(sa.select(OrderProduct).where(OrderProduct.id.in_(line_ids)))
    }


def _add_files(session: Session, ids: list[int], related: Related) -> None:
    """Each file under what it belongs to: a message, or a product line."""
    query = (
        sa.select(EvidenceFile).where(EvidenceFile.ticket_id.in_(ids)).order_by(EvidenceFile.position, EvidenceFile.id)
    )
    for file in session.scalars(query):
        if file.message_id is not None:
            related.message_files[file.message_id].append(file)
        elif file.ticket_product_id is not None:
            related.line_files[file.ticket_product_id].append(file)


def _add_messages(session: Session, ids: list[int], audience: Audience, related: Related) -> None:
    query = sa.select(Message).where(Message.ticket_id.in_(ids)).order_by(Message.id)
    if audience is Audience.RESELLER:
        query = query.where(Message.internal.is_(False))
    for message in session.scalars(query):
        related.messages[message.ticket_id].append(message)


def _add_history(session: Session, ids: list[int], audience: Audience, related: Related) -> None:
    query = sa.select(HistoryEntry).where(HistoryEntry.ticket_id.in_(ids)).order_by(HistoryEntry.id)
    if audience is Audience.RESELLER:  # who works a ticket is the supplier's business: assignments are staff only
        query = query.where(HistoryEntry.action != "assigned")
    for entry in session.scalars(query):
        related.history[entry.ticket_id].append(entry)


def _staff_facts(session: Session, tickets: Sequence[Ticket]) -> dict[int, dict[str, Any]]:
    """What only staff see of each ticket: its account, assignee, how long it waits, its version."""
    accounts = {
        a.id: a for a in session.scalars(sa.select(Account).where(Account.id.in_({t.account_id for t in tickets})))
    }
    assignee_ids = {t.assignee_id for t in tickets if t.assignee_id is not None}
    staff = (
        {s.id: s for s in session.scalars(sa.select(Staff).where(Staff.id.in_(assignee_ids)))} if assignee_ids else {}
    )
    facts = {}
    for t in tickets:
        assignee = staff.get(t.assignee_id) if t.assignee_id is not None else None
        facts[t.id] = {
            "account": {"id": t.account_id, "name": accounts[t.account_id].name},
            "assignee": {"id": assignee.id, "email": assignee.email, "name": assignee.name} if assignee else None,
            "waiting_since": rfc3339(t.waiting_since) if t.waiting_since else None,
            "version": t.version,
        }
    return facts


def render(t: TicketLike, related: Related, audience: Audience) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": t.external_id,
        "number": t.id,
        "order_id": related.orders[t.order_id],
        "supplier_order_number": t.order_id,
        "description": t.description,
        "reason": t.reason,
        "suggested_solution": t.suggested_solution,
        "contact_email": t.contact_email,
        "status": t.status,
        "products": [
            {
                "id": related.lines[p.order_product_id][0],
                "code": related.lines[p.order_product_id][1],
                "amount": p.amount,
                "granted": p.granted,
                "files": [file_view(f, audience) for f in related.line_files[p.id]],
            }
            for p in t.products
        ],
        "resolution": t.resolution,
        "history": [history_view(h) for h in related.history[t.id]],
        "messages": [message_view(m, related.message_files[m.id], audience) for m in related.messages[t.id]],
        "created_at": rfc3339(t.created_at),
        "updated_at": rfc3339(t.updated_at),
    }
    view.update(related.extra.get(t.id, {}))
    return view


def ticket_views(session: Session, tickets: Sequence[Ticket], audience: Audience) -> list[dict[str, Any]]:
    if not tickets:
        return []
    related = load_related(session, tickets, audience)
    return [render(t, related, audience) for t in tickets]


def ticket_view(session: Session, ticket: Ticket, audience: Audience) -> dict[str, Any]:
    return ticket_views(session, [ticket], audience)[0]
