"""Reseller users (people of an account who sign in to the portal) and web sessions."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, CreatedMixin, IdMixin, utcnow


class User(IdMixin, CreatedMixin, Base):
    """A person of a reseller account who signs in to the web portal. E-mails are unique and lower case."""

    __tablename__ = "users"

    account_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("accounts.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    # The contact e-mail this person gave on their last report in the portal: the next report's default.
    last_contact_email: Mapped[str | None] = mapped_column(sa.String(254), default=None)


class WebSession(IdMixin, CreatedMixin, Base):
    """A signed-in browser. Only the SHA-256 of the cookie's random token is stored; ``user_kind`` is
    ``staff`` or ``user`` and ``user_id`` the row in that table."""

    __tablename__ = "web_sessions"
    __table_args__ = (sa.Index("ix_web_sessions_user", "user_kind", "user_id"),)

    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_kind: Mapped[str] = mapped_column(sa.String(10))
    user_id: Mapped[int] = mapped_column(BigId)
    csrf_secret: Mapped[str] = mapped_column(sa.String(64))
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
