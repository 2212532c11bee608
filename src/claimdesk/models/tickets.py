from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from claimdesk.rules.statuses import TicketStatus

from .base import EMPTY_OBJECT, Base, BigId, CreatedMixin, IdMixin, utcnow

# A new evidence file's state until the worker has fetched (or refused) it: the database's default, and
# what the intake fast path shows for the files it has just written.
FILE_PENDING = "pending"


class Ticket(IdMixin, CreatedMixin, Base):
    """One complaint: one reason, one suggested solution, a group of product lines of one order.

    ``id`` is the ticket ``number`` (unique across accounts); ``external_id`` is the reseller's own id.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "external_id", name="uq_tickets_account_external"),
        sa.Index("ix_tickets_account_updated", "account_id", "updated_at"),
        sa.Index("ix_tickets_status_waiting", "status", "waiting_since"),
        # The staff console: a search for a reseller's ticket id across accounts, and the dashboard's ranges.
        sa.Index("ix_tickets_external_id", "external_id"),
        sa.Index("ix_tickets_created_at", "created_at"),
    )

    account_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("accounts.id"))
    order_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("orders.id"), index=True)
    external_id: Mapped[str] = mapped_column(sa.String(64))
    description: Mapped[str | None] = mapped_column(sa.Text, default=None)
    reason: Mapped[str] = mapped_column(sa.String(40))
    suggested_solution: Mapped[str] = mapped_column(sa.String(20))
    contact_email: Mapped[str] = mapped_column(sa.String(254))
    status: Mapped[str] = mapped_column(sa.String(20), server_default=TicketStatus.OPEN.value)
    resolution: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, default=None)
    # resolution["outcome"] as a column: a rejected ticket's items can be claimed again.
    outcome: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    assignee_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("staff.id"), default=None, index=True)
    # SHA-256 of the canonical request body: the same id with the same body is a harmless retry.
    body_hash: Mapped[str] = mapped_column(sa.String(64))
    # Events the reseller has seen for this ticket; the next event takes event_seq + 1.
    event_seq: Mapped[int] = mapped_column(server_default=sa.text("0"))
    # Bumped on every change, so two agents changing the ticket at once cannot both win.
    version: Mapped[int] = mapped_column(server_default=sa.text("1"))
    # Since when the ticket waits for the supplier (the staff work queue sorts on it); null while holding/solved.
    waiting_since: Mapped[dt.datetime | None] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    products: Mapped[list[TicketProduct]] = relationship(
        back_populates="ticket", order_by="TicketProduct.position", lazy="selectin"
    )


class TicketProduct(IdMixin, Base):
    """A product line a ticket claims: how many items of one order line."""

    __tablename__ = "ticket_products"

    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    order_product_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("order_products.id"), index=True)
    position: Mapped[int]
    amount: Mapped[int]
    granted: Mapped[int | None] = mapped_column(default=None)

    ticket: Mapped[Ticket] = relationship(back_populates="products")


class EvidenceFile(IdMixin, CreatedMixin, Base):
    """A file of evidence: on a product line or a message, fetched from ``uri`` or uploaded."""

    __tablename__ = "evidence_files"

    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    ticket_product_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("ticket_products.id", ondelete="CASCADE"), default=None, index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("messages.id", ondelete="CASCADE"), default=None, index=True
    )
    position: Mapped[int] = mapped_column(server_default=sa.text("0"))
    uri: Mapped[str | None] = mapped_column(sa.String(2048), default=None)
    filename: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    state: Mapped[str] = mapped_column(sa.String(10), server_default=FILE_PENDING)
    error: Mapped[str | None] = mapped_column(sa.String(500), default=None)
    content_type: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    size: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    sha256: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    storage_key: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    thumbnail_key: Mapped[str | None] = mapped_column(sa.String(200), default=None)


class Message(IdMixin, CreatedMixin, Base):
    """A reply in a ticket's thread. Internal notes are staff-only and never reach resellers."""

    __tablename__ = "messages"
    __table_args__ = (sa.Index("ix_messages_created_at", "created_at"),)  # the dashboard's first replies per day

    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    internal: Mapped[bool] = mapped_column(server_default=sa.false())
    by_type: Mapped[str] = mapped_column(sa.String(10))
    by_id: Mapped[int | None] = mapped_column(BigId, default=None)
    by_name: Mapped[str | None] = mapped_column(sa.String(254), default=None)


class HistoryEntry(IdMixin, Base):
    """What happened to a ticket, by whom and when. ``details`` holds from/assignee/previous_resolution."""

    __tablename__ = "ticket_history"
    __table_args__ = (sa.Index("ix_ticket_history_at", "at"),)  # the dashboard's backlog over time

    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, server_default=EMPTY_OBJECT)
    by_type: Mapped[str] = mapped_column(sa.String(10))
    by_id: Mapped[int | None] = mapped_column(BigId, default=None)
    by_name: Mapped[str | None] = mapped_column(sa.String(254), default=None)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
