from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import EMPTY_OBJECT, Base, BigId, CreatedMixin, IdMixin


class Event(IdMixin, CreatedMixin, Base):
    """A change to a ticket as its reseller sees it, written in the same transaction as the change.

    ``sequence`` counts the ticket's events from 1 with no gaps; ``ticket`` is the reseller's view of the
    ticket right after the change (internal notes never included), so deliveries show what happened then.
    """

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("ticket_id", "sequence", name="uq_events_ticket_sequence"),
        sa.Index("ix_events_account_id", "account_id", "id"),
    )

    account_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("accounts.id"))
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(sa.String(40))
    sequence: Mapped[int]
    ticket: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class Job(IdMixin, CreatedMixin, Base):
    """Background work (fetch a file, deliver a webhook, send an e-mail), written in the same
    transaction as the change that causes it, so a crash between the answer and the work loses nothing.

    Workers claim due jobs by setting ``locked_until`` (PostgreSQL: ``FOR UPDATE SKIP LOCKED``); an
    expired lock means the worker died and the job is taken again. Jobs are safe to run twice.
    """

    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_due", "state", "run_at"),)

    kind: Mapped[str] = mapped_column(sa.String(40))
    ref_id: Mapped[int] = mapped_column(BigId)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, server_default=EMPTY_OBJECT)
    state: Mapped[str] = mapped_column(sa.String(10), server_default="queued")  # queued, done, failed
    run_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(server_default=sa.text("0"))
    locked_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    locked_by: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    last_error: Mapped[str | None] = mapped_column(sa.String(1000), default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
