"""The dashboard's rollups: what happened per hour, day and week, kept once the period is over (its events
never change)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class DashboardRollup(Base):
    """One figure of one whole ``period`` (hour, day or week, from ``start``, UTC): ``kind`` (opened, moved,
    outcome, first_reply, solve, claimed_product, claimed_account, ordered_product, ordered_account), its
    ``key`` (a reason, status, outcome, duration bucket, product code or account id) and ``value``."""

    __tablename__ = "dashboard_rollups"

    period: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger)


class DashboardPeriod(Base):
    """A period whose rollups are written (one with nothing in it has no rollups, but is marked here)."""

    __tablename__ = "dashboard_periods"

    period: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    rolled_up_at: Mapped[dt.datetime]
