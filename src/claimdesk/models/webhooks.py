from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, CreatedMixin, IdMixin


class WebhookEndpoint(IdMixin, CreatedMixin, Base):
    """A URL of a reseller's that hears about the ticket events it subscribes to.

    After a rotation the previous secret signs too (a second signature) until ``previous_secret_expires_at``,
    so a receiver can switch secrets without losing a delivery.
    """

    __tablename__ = "webhook_endpoints"

    account_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("accounts.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2048))
    events: Mapped[list[Any]] = mapped_column(sa.JSON)
    secret: Mapped[str] = mapped_column(sa.String(100))
    previous_secret: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Since when every attempt failed (null after a success); too long and the endpoint is disabled.
    failing_since: Mapped[dt.datetime | None] = mapped_column(default=None)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class WebhookDelivery(IdMixin, CreatedMixin, Base):
    """One event (or a test message) for one target: an endpoint, or one of the order's callback_urls.

    ``target`` names the receiver (``endpoint:<id>``, ``callback:<sha256 of url>``, ``test:<id>``), so that an
    event dispatched twice still makes one delivery per receiver. Its ``webhook-id`` is ``msg_<id>`` on
    every attempt, redeliveries included.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "target", name="uq_webhook_deliveries_event_target"),
        sa.Index("ix_webhook_deliveries_account", "account_id", "id"),
        sa.Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )

    account_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("accounts.id"))
    event_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("events.id", ondelete="CASCADE"), default=None)
    endpoint_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[str] = mapped_column(sa.String(10))  # endpoint, callback, test
    target: Mapped[str] = mapped_column(sa.String(80))
    url: Mapped[str] = mapped_column(sa.String(2048))
    event_type: Mapped[str] = mapped_column(sa.String(40))
    state: Mapped[str] = mapped_column(sa.String(10), server_default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(server_default=sa.text("0"))
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(sa.String(500), default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class WebhookAttempt(IdMixin, Base):
    """One POST of a delivery: when, what came back (status code or error) and how long it took."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (sa.UniqueConstraint("delivery_id", "number", name="uq_webhook_attempts_delivery_number"),)

    delivery_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    number: Mapped[int]
    at: Mapped[dt.datetime]
    status_code: Mapped[int | None] = mapped_column(default=None)
    latency_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(sa.String(500), default=None)


class EventDispatch(Base):
    """An event that was fanned out: its deliveries and e-mails exist, so a second dispatch does nothing."""

    __tablename__ = "event_dispatches"

    event_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    dispatched_at: Mapped[dt.datetime]
