"""The dashboard's figures per hour, day and week, rolled up once each is over, so any range reads few rows.

Every figure is counted on the day its event happened: tickets filed, status changes (history), first public
staff replies, solves and their outcomes, items claimed (filed, less those given back by a rejection, plus
those claimed again by reopening one), items ordered. A day's events never change once it is over, so its
rollup is written once (``dashboard_rollups``, marked in ``dashboard_days``) and today is counted live.
Durations are kept as histograms of logarithmic buckets (each 9 % wider than the one before), from which
the median and 90th percentile are read to within 4.5 %.

All of it is aggregate SQL grouped by day on either database; Python only adds up the aggregated rows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from claimdesk.models import (
    DashboardPeriod,
    DashboardRollup,
    HistoryEntry,
    Message,
    Order,
    OrderProduct,
    Ticket,
    TicketProduct,
    utcnow,
)
from claimdesk.rules.statuses import Outcome, TicketStatus

# A day is rolled up once it has been over for a while: a unit of work that started before midnight may
# still commit rows stamped with that day.
SETTLE = dt.timedelta(minutes=10)
BUCKETS_PER_DOUBLING = 8
SMALLEST = 60.0  # seconds: bucket 0 holds everything under a minute

Moment = sa.ColumnElement[dt.datetime] | InstrumentedAttribute[dt.datetime]


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


HOUR, DAY, WEEK = "hour", "day", "week"
Facts = dict[tuple[dt.datetime, str, str], int]


def _grain(session: Session, column: Moment, grain: str) -> sa.ColumnElement[Any]:
    """The start of the hour or day of a stored time, as text, on both databases."""
    if _postgresql(session):
        return sa.func.to_char(column, "YYYY-MM-DD HH24:00:00" if grain == HOUR else "YYYY-MM-DD")
    return sa.func.strftime("%Y-%m-%d %H:00:00", column) if grain == HOUR else sa.func.date(column)


def _moment(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


def _seconds(session: Session, later: Moment, earlier: Moment) -> sa.ColumnElement[float]:
    if _postgresql(session):
        return sa.type_coerce(sa.extract("epoch", later - earlier), sa.Float)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def _bucket(seconds: sa.ColumnElement[float]) -> sa.ColumnElement[Any]:
    """The histogram bucket of a duration: 0 under a minute, then 8 buckets per doubling."""
    ratio = sa.func.ln(seconds / SMALLEST) * (BUCKETS_PER_DOUBLING / math.log(2))
    return sa.case((seconds < SMALLEST, 0), else_=sa.cast(sa.func.floor(ratio), sa.Integer) + 1)


def bucket_seconds(bucket: int) -> float:
    """A bucket's representative duration: the geometric middle of its bounds."""
    if bucket <= 0:
        return SMALLEST / 2
    return SMALLEST * 2 ** ((bucket - 0.5) / BUCKETS_PER_DOUBLING)


def _ensure_ln(session: Session) -> None:
    """SQLite builds without the math functions get ``ln`` from Python on this connection."""
    if _postgresql(session):
        return
    try:
        session.execute(sa.text("SELECT ln(1)"))
    except sa.exc.OperationalError:
        raw = session.connection().connection.dbapi_connection
        assert raw is not None
        raw.create_function("ln", 1, lambda x: math.log(x) if x and x > 0 else None, deterministic=True)


def _within(column: Moment, start: dt.datetime, end: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(column >= start, column < end)


def _add(facts: Facts, rows: Iterable[Any], kind: str, sign: int = 1) -> None:
    for start, key, value in rows:
        if key is not None and value:
            facts[(_moment(start), kind, str(key))] += sign * int(value)


def compute(session: Session, start: dt.datetime, end: dt.datetime, grain: str = DAY) -> Facts:
    """Every figure of [start, end), per hour or day, from the raw rows (aggregate queries)."""
    _ensure_ln(session)
    facts: Facts = defaultdict(int)
    filed = _grain(session, Ticket.created_at, grain)
    _add(
        facts,
        session.execute(
            sa.select(filed, Ticket.reason, sa.func.count())
            .where(_within(Ticket.created_at, start, end))
            .group_by(filed, Ticket.reason)
        ),
        "opened",
    )
    changed = _grain(session, HistoryEntry.at, grain)
    moves = sa.and_(_within(HistoryEntry.at, start, end), HistoryEntry.action.in_(("created", "status_changed")))
    _add(
        facts,
        session.execute(
            sa.select(changed, HistoryEntry.status, sa.func.count()).where(moves).group_by(changed, HistoryEntry.status)
        ),
        "moved",
    )
    left = HistoryEntry.details["from"].as_string()
    _add(
        facts,
        session.execute(
            sa.select(changed, left, sa.func.count())
            .where(moves, HistoryEntry.action == "status_changed")
            .group_by(changed, left)
        ),
        "moved",
        -1,
    )
    solves = sa.and_(
        _within(HistoryEntry.at, start, end),
        HistoryEntry.action == "status_changed",
        HistoryEntry.status == TicketStatus.SOLVED.value,
    )
    outcome = HistoryEntry.details[("resolution", "outcome")].as_string()
    _add(
        facts,
        session.execute(sa.select(changed, outcome, sa.func.count()).where(solves).group_by(changed, outcome)),
        "outcome",
    )
    solve_bucket = _bucket(_seconds(session, HistoryEntry.at, Ticket.created_at))
    _add(
        facts,
        session.execute(
            sa.select(changed, solve_bucket, sa.func.count())
            .join(Ticket, Ticket.id == HistoryEntry.ticket_id)
            .where(solves)
            .group_by(changed, solve_bucket)
        ),
        "solve",
    )
    public_staff = sa.and_(Message.by_type == "staff", Message.internal.is_(False))
    earlier = sa.orm.aliased(Message)
    first_ever = ~sa.exists().where(
        earlier.ticket_id == Message.ticket_id,
        earlier.by_type == "staff",
        earlier.internal.is_(False),
        earlier.id < Message.id,
    )
    replied = _grain(session, Message.created_at, grain)
    reply_bucket = _bucket(_seconds(session, Message.created_at, Ticket.created_at))
    _add(
        facts,
        session.execute(
            sa.select(replied, reply_bucket, sa.func.count())
            .select_from(Message)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(_within(Message.created_at, start, end), public_staff, first_ever)
            .group_by(replied, reply_bucket)
        ),
        "first_reply",
    )
    _claims(session, facts, start, end, grain)
    placed = _grain(session, Order.created_at, grain)
    product = sa.func.coalesce(OrderProduct.code, OrderProduct.key)
    for kind, key in (("ordered_product", product), ("ordered_account", Order.account_id)):
        _add(
            facts,
            session.execute(
                sa.select(placed, key, sa.func.sum(OrderProduct.amount))
                .select_from(OrderProduct)
                .join(Order, Order.id == OrderProduct.order_id)
                .where(_within(Order.created_at, start, end))
                .group_by(placed, key)
            ),
            kind,
        )
    return facts


def _claims(session: Session, facts: Facts, start: dt.datetime, end: dt.datetime, grain: str) -> None:
    """Items claimed per product and account: filed, less those a rejection gives back, plus reclaimed."""
    product = sa.func.coalesce(OrderProduct.code, OrderProduct.key)
    filed = _grain(session, Ticket.created_at, grain)
    changed = _grain(session, HistoryEntry.at, grain)
    rejected = HistoryEntry.details[("resolution", "outcome")].as_string() == Outcome.REJECTED.value
    reopened_rejected = HistoryEntry.details[("previous_resolution", "outcome")].as_string() == Outcome.REJECTED.value
    for kind, key in (("claimed_product", product), ("claimed_account", Ticket.account_id)):
        lines = (
            sa.select(filed, key, sa.func.sum(TicketProduct.amount))
            .select_from(TicketProduct)
            .join(Ticket, Ticket.id == TicketProduct.ticket_id)
            .join(OrderProduct, OrderProduct.id == TicketProduct.order_product_id)
            .where(_within(Ticket.created_at, start, end))
            .group_by(filed, key)
        )
        _add(facts, session.execute(lines), kind)
        for sign, condition in (
            (-1, sa.and_(HistoryEntry.status == TicketStatus.SOLVED.value, rejected)),
            (1, sa.and_(HistoryEntry.details["from"].as_string() == TicketStatus.SOLVED.value, reopened_rejected)),
        ):
            given_back = (
                sa.select(changed, key, sa.func.sum(TicketProduct.amount))
                .select_from(HistoryEntry)
                .join(Ticket, Ticket.id == HistoryEntry.ticket_id)
                .join(TicketProduct, TicketProduct.ticket_id == Ticket.id)
                .join(OrderProduct, OrderProduct.id == TicketProduct.order_product_id)
                .where(_within(HistoryEntry.at, start, end), HistoryEntry.action == "status_changed", condition)
                .group_by(changed, key)
            )
            _add(facts, session.execute(given_back), kind, sign)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _runs(starts: Sequence[dt.datetime], step: dt.timedelta) -> list[tuple[dt.datetime, dt.datetime]]:
    """Consecutive period starts as [first, end) runs."""
    runs: list[tuple[dt.datetime, dt.datetime]] = []
    for start in sorted(starts):
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], start + step)
        else:
            runs.append((start, start + step))
    return runs


@dataclass(frozen=True, slots=True)
class Clock:
    """What is settled at ``now``: whole days before ``day``, and today's whole hours before ``hour``."""

    now: dt.datetime

    @property
    def hour(self) -> dt.datetime:
        settled = self.now - SETTLE
        return settled.replace(minute=0, second=0, microsecond=0)

    @property
    def day(self) -> dt.date:
        return (self.now - SETTLE).date()


def clock(now: dt.datetime | None = None) -> Clock:
    return Clock(now or utcnow())


def settled_until(now: dt.datetime | None = None) -> dt.date:
    """The first day that is not yet rolled up: today, or yesterday shortly after midnight."""
    return clock(now).day


def _expected(first: dt.date, at: Clock) -> dict[str, list[dt.datetime]]:
    """Every period that should be rolled up by now, from the first day on."""
    days = [_midnight(first + dt.timedelta(days=i)) for i in range(max(0, (at.day - first).days))]
    weeks = []
    monday = _monday(first)
    while monday + dt.timedelta(days=7) <= at.day:
        weeks.append(_midnight(monday))
        monday += dt.timedelta(days=7)
    hours = []
    hour = max(_midnight(at.day), _midnight(first))
    while hour < at.hour:
        hours.append(hour)
        hour += dt.timedelta(hours=1)
    return {DAY: days, WEEK: weeks, HOUR: hours}


def _done(session: Session, period: str, since: dt.datetime) -> set[dt.datetime]:
    return {
        _moment(start)
        for start in session.scalars(
            sa.select(DashboardPeriod.start).where(DashboardPeriod.period == period, DashboardPeriod.start >= since)
        )
    }


def missing(session: Session, first: dt.date, *, now: dt.datetime | None = None) -> int:
    """How many periods that should be rolled up by now are not: three counts."""
    expected = _expected(first, clock(now))
    gaps = 0
    for period, starts in expected.items():
        if starts:
            done = session.scalar(
                sa.select(sa.func.count())
                .select_from(DashboardPeriod)
                .where(DashboardPeriod.period == period, DashboardPeriod.start >= starts[0])
            )
            gaps += len(starts) - int(done or 0)
    return gaps


def _insert(session: Session) -> Any:
    return postgresql.insert if _postgresql(session) else sqlite.insert


def _store(session: Session, period: str, facts: Facts, starts: Sequence[dt.datetime], now: dt.datetime) -> None:
    insert = _insert(session)
    rows = [
        {"period": period, "start": start, "kind": kind, "key": key, "value": value}
        for (start, kind, key), value in facts.items()
        if value
    ]
    if rows:
        session.execute(insert(DashboardRollup).on_conflict_do_nothing(), rows)
    marks = [{"period": period, "start": start, "rolled_up_at": now} for start in starts]
    session.execute(insert(DashboardPeriod).on_conflict_do_nothing(), marks)


def ensure(session: Session, first: dt.date, *, now: dt.datetime | None = None) -> int:
    """Roll up every settled period from ``first`` on that is not yet: days from the rows, weeks from their
    days, today's hours from the rows. Returns how many periods were written. Safe beside another process
    doing the same (rows already there are kept)."""
    at = clock(now)
    expected = _expected(first, at)
    written = 0
    days = [d for d in expected[DAY] if d not in _done(session, DAY, _midnight(first))]
    for start, end in _runs(days, dt.timedelta(days=1)):
        facts = compute(session, start, end, DAY)
        span = [start + dt.timedelta(days=i) for i in range((end - start).days)]
        _store(session, DAY, facts, span, at.now)
        written += len(span)
    session.flush()
    for monday in [w for w in expected[WEEK] if w not in _done(session, WEEK, _midnight(_monday(first)))]:
        sums = session.execute(
            sa.select(DashboardRollup.kind, DashboardRollup.key, sa.func.sum(DashboardRollup.value))
            .where(
                DashboardRollup.period == DAY,
                DashboardRollup.start >= monday,
                DashboardRollup.start < monday + dt.timedelta(days=7),
            )
            .group_by(DashboardRollup.kind, DashboardRollup.key)
        )
        _store(session, WEEK, {(monday, kind, key): int(value) for kind, key, value in sums}, [monday], at.now)
        written += 1
    hours = [h for h in expected[HOUR] if h not in _done(session, HOUR, _midnight(at.day))]
    for start, end in _runs(hours, dt.timedelta(hours=1)):
        facts = compute(session, start, end, HOUR)
        _store(
            session,
            HOUR,
            facts,
            [start + dt.timedelta(hours=i) for i in range(int((end - start) / dt.timedelta(hours=1)))],
            at.now,
        )
        written += int((end - start) / dt.timedelta(hours=1))
    # Hours of days now rolled up are read no more.
    for table in (DashboardRollup, DashboardPeriod):
        session.execute(sa.delete(table).where(table.period == HOUR, table.start < _midnight(at.day)))
    session.flush()
    return written


def first_day(session: Session) -> dt.date | None:
    """The day of the oldest ticket or order: the backlog counts from there."""
    found = [
        value
        for value in (
            session.scalar(sa.select(sa.func.min(column))) for column in (Ticket.created_at, Order.created_at)
        )
        if value is not None
    ]
    return min(found).date() if found else None


@dataclass(frozen=True)
class Totals:
    """Figures summed over a range: per (kind, key), and per (kind, key, week) for the weekly kinds."""

    totals: dict[tuple[str, str], int]
    weekly: dict[tuple[str, str, dt.date], int]

    def of(self, kind: str) -> dict[str, int]:
        return {key: value for (k, key), value in self.totals.items() if k == kind}


WEEKLY_KINDS = ("opened", "moved")


def _pieces(
    since: dt.date, until: dt.date, at: Clock
) -> tuple[sa.ColumnElement[bool] | None, tuple[dt.datetime, dt.datetime] | None]:
    """Which rollup rows make up [since, until] (whole weeks, other whole days, today's hours), and the live
    rest [from, to)."""
    end_day = until + dt.timedelta(days=1)
    rolled_end = min(end_day, at.day)
    weeks: list[dt.datetime] = []
    days: list[dt.datetime] = []
    day = since
    while day < rolled_end:
        if day.weekday() == 0 and day + dt.timedelta(days=7) <= rolled_end:
            weeks.append(_midnight(day))
            day += dt.timedelta(days=7)
        else:
            days.append(_midnight(day))
            day += dt.timedelta(days=1)
    parts = []
    if weeks:
        parts.append(sa.and_(DashboardRollup.period == WEEK, DashboardRollup.start.in_(weeks)))
    if days:
        parts.append(sa.and_(DashboardRollup.period == DAY, DashboardRollup.start.in_(days)))
    live_from = max(_midnight(since), _midnight(at.day))
    if live_from < _midnight(end_day):
        hours_end = min(at.hour, _midnight(end_day))
        if live_from < hours_end:
            parts.append(
                sa.and_(
                    DashboardRollup.period == HOUR,
                    DashboardRollup.start >= live_from,
                    DashboardRollup.start < hours_end,
                )
            )
            live_from = hours_end
    live = (live_from, _midnight(end_day)) if live_from < _midnight(end_day) else None
    return (sa.or_(*parts) if parts else None), live


def _week_of(session: Session, column: InstrumentedAttribute[dt.datetime]) -> sa.ColumnElement[Any]:
    """The Monday of a stored period start, as YYYY-MM-DD."""
    if _postgresql(session):
        return sa.func.to_char(sa.func.date_trunc("week", column), "YYYY-MM-DD")
    return sa.func.date(column, "weekday 0", "-6 days")


def totals(
    session: Session,
    since: dt.date,
    until: dt.date,
    *,
    now: dt.datetime | None = None,
    kinds: Sequence[str] | None = None,
) -> Totals:
    """The figures of the days from ``since`` to ``until`` (both included): two aggregate queries over the
    rollups (the weekly kinds per week, the others in all) and the current hour counted live."""
    at = clock(now)
    sums: dict[tuple[str, str], int] = defaultdict(int)
    weekly: dict[tuple[str, str, dt.date], int] = defaultdict(int)
    rolled, live = _pieces(since, until, at)
    wanted = tuple(kinds) if kinds is not None else None
    if rolled is not None:
        week = _week_of(session, DashboardRollup.start)
        per_week = [k for k in (wanted or WEEKLY_KINDS) if k in WEEKLY_KINDS]
        if per_week:
            rows = session.execute(
                sa.select(DashboardRollup.kind, DashboardRollup.key, week, sa.func.sum(DashboardRollup.value))
                .where(rolled, DashboardRollup.kind.in_(per_week))
                .group_by(DashboardRollup.kind, DashboardRollup.key, week)
            )
            for kind, key, monday, value in rows:
                sums[(kind, key)] += int(value)
                weekly[(kind, key, dt.date.fromisoformat(str(monday)[:10]))] += int(value)
        others = sa.select(DashboardRollup.kind, DashboardRollup.key, sa.func.sum(DashboardRollup.value)).where(
            rolled, DashboardRollup.kind.not_in(WEEKLY_KINDS)
        )
        if wanted is not None:
            others = others.where(DashboardRollup.kind.in_(wanted))
        if wanted is None or any(k not in WEEKLY_KINDS for k in wanted):
            for kind, key, value in session.execute(others.group_by(DashboardRollup.kind, DashboardRollup.key)):
                sums[(kind, key)] += int(value)
    if live is not None:
        for (start, kind, key), value in compute(session, live[0], live[1], HOUR).items():
            if wanted is None or kind in wanted:
                sums[(kind, key)] += value
                weekly[(kind, key, _monday(start.date()))] += value
    return Totals(dict(sums), dict(weekly))
