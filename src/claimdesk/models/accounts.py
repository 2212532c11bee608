from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, CreatedMixin, IdMixin, utcnow


class Account(IdMixin, CreatedMixin, Base):
    """A reseller: owns orders, tickets and webhook endpoints."""

    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(sa.String(200))
    # Signs deliveries to the orders' callback_urls (Standard Webhooks "whsec_..." form).
    callback_secret: Mapped[str] = mapped_column(sa.String(100))
    notify_email: Mapped[str | None] = mapped_column(sa.String(254), default=None)


class Staff(IdMixin, CreatedMixin, Base):
    """A supplier employee who works tickets. ``role`` is agent or admin."""

    __tablename__ = "staff"

    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[str] = mapped_column(sa.String(300))


class ApiKey(IdMixin, CreatedMixin, Base):
    """A key belongs to an account or to a staff member. Only its SHA-256 is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (sa.CheckConstraint("(account_id IS NULL) <> (staff_id IS NULL)", name="one_owner"),)

    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(20))
    account_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("accounts.id"), default=None, index=True)
    staff_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("staff.id"), default=None, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Set when the key was rotated: it keeps working until then (the grace period), then no more.
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The key's last characters, so that its account can tell its keys apart (null for keys made before).
    last_chars: Mapped[str | None] = mapped_column(sa.String(8), default=None)
    # When a call last used the key, to the minute (``accounts.service.KEY_USE_PRECISION``).
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class ApiKeyEpoch(Base):
    """One row, counted up in the transaction of every key rotation and revocation. Each process compares
    it, at most ``api_key_recheck_seconds`` apart, with the value it last saw, and drops its cache of keys
    when it changed: a revoked key stops working on every process within that time."""

    __tablename__ = "api_key_epoch"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    epoch: Mapped[int] = mapped_column(sa.BigInteger)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
