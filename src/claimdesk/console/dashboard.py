"""The dashboard's figures over a date range, each one aggregate query on either database, and the CSV export.

Weeks start on Monday (UTC). Percentiles are nearest-rank, taken with window functions, so SQLite (which
has no percentile function) and PostgreSQL compute the same numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from claimdesk.exceptions import ValidationFailed
from claimdesk.models import Account, HistoryEntry, Message, Order, OrderProduct, Staff, Ticket, TicketProduct
from claimdesk.rules.catalogue import Reason
from claimdesk.rules.problems import Problem
from claimdesk.rules.statuses import Outcome, TicketStatus
from claimdesk.timefmt import rfc3339

DEFAULT_WEEKS = 12
MAX_DAYS = 3 * 366
TOP = 10
BACKLOG = (TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.HOLDING)

Moment = sa.ColumnElement[dt.datetime] | InstrumentedAttribute[dt.datetime]


@dataclass(frozen=True, slots=True)
class DateRange:
    """Whole days, ``since`` and ``until`` both included."""

    since: dt.date
    until: dt.date

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.since, dt.time(), dt.UTC)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), dt.UTC)

    def weeks(self) -> list[dt.date]:
        """The Mondays of the weeks the range touches."""
        first = self.since - dt.timedelta(days=self.since.weekday())
        return [first + dt.timedelta(weeks=i) for i in range((self.until - first).days // 7 + 1)]


def _day(value: str | None, name: str, problems: list[Problem]) -> dt.date | None:
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        problems.append(Problem(name, "invalid_type", f"{name} must be a date, like 2026-01-31."))
        return None


def parse_range(since: str | None, until: str | None, *, today: dt.date | None = None) -> DateRange:
    """The range from the form's two dates; by default the last 12 weeks up to today."""
    problems: list[Problem] = []
    start, stop = _day(since, "since", problems), _day(until, "until", problems)
    if problems:
        raise ValidationFailed(problems)
    stop = stop or today or dt.datetime.now(dt.UTC).date()
    start = start or stop - dt.timedelta(weeks=DEFAULT_WEEKS) + dt.timedelta(days=1)
    if start > stop:
        raise ValidationFailed([Problem("since", "out_of_range", "since must not be after until.")])
    if (stop - start).days > MAX_DAYS:
        raise ValidationFailed([Problem("since", "out_of_range", "The range can be at most three years.")])
    return DateRange(start, stop)


# --- the SQL that differs between the two databases ------------------------------------------------


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _week(session: Session, column: Moment) -> sa.ColumnElement[str]:
    """The Monday of the value's week, as YYYY-MM-DD."""
    if _postgresql(session):
        return sa.func.to_char(sa.func.date_trunc("week", column), "YYYY-MM-DD")
    return sa.func.date(column, "weekday 0", "-6 days")


def _seconds(session: Session, later: Moment, earlier: Moment) -> sa.ColumnElement[float]:
    if _postgresql(session):
        return sa.type_coerce(sa.extract("epoch", later - earlier), sa.Float)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


# --- the figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One line or stack of a chart: a value per week."""

    key: str
    values: list[int]


@dataclass(frozen=True, slots=True)
class Durations:
    """Nearest-rank median and 90th percentile in seconds, over ``count`` tickets."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class RateRow:
    key: str
    label: str
    claimed: int
    ordered: int

    @property
    def rate(self) -> float:
        return self.claimed / self.ordered if self.ordered else 0.0


@dataclass(frozen=True)
class Dashboard:
    range: DateRange
    weeks: list[dt.date]
    opened: list[Series]  # per reason, stacked
    backlog: list[Series]  # per status, at the end of each week
    first_reply: Durations
    solve: Durations
    outcomes: dict[str, int]
    top_products: list[RateRow]
    top_accounts: list[RateRow]

    @property
    def opened_total(self) -> int:
        return sum(sum(s.values) for s in self.opened)


def _in_range(column: Moment, period: DateRange) -> sa.ColumnElement[bool]:
    return sa.and_(column >= period.start, column < period.end)


def opened_per_week(session: Session, period: DateRange, weeks: list[dt.date]) -> list[Series]:
    week = _week(session, Ticket.created_at)
    rows = session.execute(
        sa.select(week, Ticket.reason, sa.func.count())
        .where(_in_range(Ticket.created_at, period))
        .group_by(week, Ticket.reason)
    )
    index = {w.isoformat(): i for i, w in enumerate(weeks)}
    counts: dict[str, list[int]] = {}
    for monday, reason, count in rows:
        counts.setdefault(reason, [0] * len(weeks))[index[monday]] += int(count)
    order = [r.value for r in Reason]
    return [Series(reason, counts[reason]) for reason in sorted(counts, key=order.index)]


def backlog_per_week(session: Session, weeks: list[dt.date]) -> list[Series]:
    """Tickets open, pending and holding at the end of each week (or now, for the current week).

    Today's counts, minus every status change after each week's end: the changes are the history's
    entries (each adds one to the status it made and takes one from the status it left), summed per week
    in SQL, so the work grows with the range's changes, not with every ticket ever filed."""
    now = session.execute(sa.select(Ticket.status, sa.func.count()).group_by(Ticket.status)).all()
    current = {status: int(count) for status, count in now}
    week = _week(session, HistoryEntry.at)
    # The first week's end is a week after its Monday; changes before it stay in today's counts.
    first_end = dt.datetime.combine(weeks[0] + dt.timedelta(days=7), dt.time(), dt.UTC)
    moves = sa.and_(HistoryEntry.action.in_(("created", "status_changed")), HistoryEntry.at >= first_end)
    left = HistoryEntry.details["from"].as_string()
    added = session.execute(
        sa.select(week, HistoryEntry.status, sa.func.count()).where(moves).group_by(week, HistoryEntry.status)
    )
    removed = session.execute(
        sa.select(week, left, sa.func.count())
        .where(moves, HistoryEntry.action == "status_changed")
        .group_by(week, left)
    )
    delta: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for week_of, made, count in added:
        delta[week_of][made] += int(count)
    for week_of, left_status, count in removed:
        if left_status is not None:
            delta[week_of][left_status] -= int(count)
    series = []
    for status in BACKLOG:
        values = []
        for monday in weeks:
            later = sum(d.get(status.value, 0) for w, d in delta.items() if w > monday.isoformat())
            values.append(current.get(status.value, 0) - later)
        series.append(Series(status.value, values))
    return series


def _percentiles(session: Session, seconds: sa.Subquery) -> Durations:
    ranked = sa.select(
        seconds.c.s,
        sa.func.row_number().over(order_by=seconds.c.s).label("n"),
        sa.func.count().over().label("c"),
    ).subquery()

    def at(share: float) -> sa.ColumnElement[float]:
        return sa.func.min(sa.case((ranked.c.n >= ranked.c.c * share, ranked.c.s)))

    count, median, p90 = session.execute(sa.select(sa.func.count(), at(0.5), at(0.9)).select_from(ranked)).one()
    # Whole seconds: SQLite's julianday arithmetic is off by microseconds.
    return Durations(int(count), _whole(median), _whole(p90))


def _whole(seconds: float | None) -> float | None:
    return float(round(seconds)) if seconds is not None else None


def first_reply_times(session: Session, period: DateRange) -> Durations:
    """From filing to the first public staff reply, for the tickets filed in the range that have one."""
    first = sa.func.min(Message.created_at)
    seconds = (
        sa.select(_seconds(session, first, sa.func.min(Ticket.created_at)).label("s"))
        .select_from(Ticket)
        .join(Message, Message.ticket_id == Ticket.id)
        .where(_in_range(Ticket.created_at, period), Message.by_type == "staff", Message.internal.is_(False))
        .group_by(Ticket.id)
        .subquery()
    )
    return _percentiles(session, seconds)


def solve_times(session: Session, period: DateRange) -> Durations:
    """From filing to being solved (the last time), for the tickets filed in the range that are solved now."""
    seconds = (
        sa.select(_seconds(session, sa.func.max(HistoryEntry.at), sa.func.min(Ticket.created_at)).label("s"))
        .select_from(Ticket)
        .join(HistoryEntry, HistoryEntry.ticket_id == Ticket.id)
        .where(
            _in_range(Ticket.created_at, period),
            Ticket.status == TicketStatus.SOLVED.value,
            HistoryEntry.action == "status_changed",
            HistoryEntry.status == TicketStatus.SOLVED.value,
        )
        .group_by(Ticket.id)
        .subquery()
    )
    return _percentiles(session, seconds)


def outcome_shares(session: Session, period: DateRange) -> dict[str, int]:
    rows = session.execute(
        sa.select(Ticket.outcome, sa.func.count())
        .where(_in_range(Ticket.created_at, period), Ticket.outcome.is_not(None))
        .group_by(Ticket.outcome)
    )
    found = {outcome: int(count) for outcome, count in rows}
    return {o.value: found.get(o.value, 0) for o in Outcome}


def _not_rejected() -> sa.ColumnElement[bool]:
    return sa.or_(Ticket.outcome.is_(None), Ticket.outcome != Outcome.REJECTED.value)


_PRODUCT = sa.func.coalesce(OrderProduct.code, OrderProduct.key)


def _claimed(period: DateRange, key: sa.ColumnElement[Any]) -> sa.Subquery:
    """Items claimed per ``key`` by the tickets filed in the range (rejected ones claim nothing)."""
    return (
        sa.select(key.label("key"), sa.func.sum(TicketProduct.amount).label("claimed"))
        .select_from(Ticket)
        .join(TicketProduct, TicketProduct.ticket_id == Ticket.id)
        .join(OrderProduct, OrderProduct.id == TicketProduct.order_product_id)
        .where(_in_range(Ticket.created_at, period), _not_rejected())
        .group_by(key)
        .subquery()
    )


def _ordered(period: DateRange, key: sa.ColumnElement[Any]) -> sa.Subquery:
    """Items ordered per ``key`` on the orders placed in the range."""
    return (
        sa.select(key.label("key"), sa.func.sum(OrderProduct.amount).label("ordered"))
        .select_from(Order)
        .join(OrderProduct, OrderProduct.order_id == Order.id)
        .where(_in_range(Order.created_at, period))
        .group_by(key)
        .subquery()
    )


def _ranked(
    period: DateRange, claimed_key: sa.ColumnElement[Any], ordered_key: sa.ColumnElement[Any]
) -> sa.Select[Any, Any, Any]:
    claimed, ordered = _claimed(period, claimed_key), _ordered(period, ordered_key)
    rate = sa.cast(claimed.c.claimed, sa.Float) / ordered.c.ordered
    return (
        sa.select(claimed.c.key, claimed.c.claimed, ordered.c.ordered)
        .join(ordered, ordered.c.key == claimed.c.key)
        .where(ordered.c.ordered > 0)
        .order_by(rate.desc(), claimed.c.claimed.desc(), claimed.c.key)
        .limit(TOP)
    )


def top_rates(session: Session, period: DateRange) -> tuple[list[RateRow], list[RateRow]]:
    """The products (by code) and the accounts with the highest complaint rate: items claimed on the
    tickets filed in the range over items ordered on the orders placed in it. Aggregates joined in SQL."""
    products = [
        RateRow(str(key), str(key), int(claimed), int(ordered))
        for key, claimed, ordered in session.execute(_ranked(period, _PRODUCT, _PRODUCT))
    ]
    ranked = _ranked(period, Ticket.account_id.expression, Order.account_id.expression).subquery()
    accounts = [
        RateRow(str(key), name, int(claimed), int(ordered))
        for key, claimed, ordered, name in session.execute(
            sa.select(ranked, Account.name).join(Account, Account.id == ranked.c.key)
        )
    ]
    accounts.sort(key=lambda row: (-row.rate, -row.claimed, row.key))
    return products, accounts


def dashboard(session: Session, period: DateRange) -> Dashboard:
    weeks = period.weeks()
    products, accounts = top_rates(session, period)
    return Dashboard(
        range=period,
        weeks=weeks,
        opened=opened_per_week(session, period, weeks),
        backlog=backlog_per_week(session, weeks),
        first_reply=first_reply_times(session, period),
        solve=solve_times(session, period),
        outcomes=outcome_shares(session, period),
        top_products=products,
        top_accounts=accounts,
    )


# --- the CSV export ------------------------------------------------------------------------------

CSV_COLUMNS = [
    "number",
    "ticket_id",
    "account",
    "order_id",
    "reason",
    "suggested_solution",
    "status",
    "outcome",
    "assignee",
    "items_claimed",
    "items_granted",
    "created_at",
    "updated_at",
    "first_staff_reply_at",
    "solved_at",
]


def _safe(value: object) -> str:
    """A cell as text; text a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return rfc3339(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_rows(session: Session, period: DateRange) -> Iterator[list[str]]:
    """One row per ticket filed in the range, oldest first, read from the database in batches."""
    claimed = sa.select(sa.func.sum(TicketProduct.amount)).where(TicketProduct.ticket_id == Ticket.id).scalar_subquery()
    granted = (
        sa.select(sa.func.sum(TicketProduct.granted)).where(TicketProduct.ticket_id == Ticket.id).scalar_subquery()
    )
    first_reply = (
        sa.select(sa.func.min(Message.created_at))
        .where(Message.ticket_id == Ticket.id, Message.by_type == "staff", Message.internal.is_(False))
        .scalar_subquery()
    )
    solved_at = (
        sa.select(sa.func.max(HistoryEntry.at))
        .where(
            HistoryEntry.ticket_id == Ticket.id,
            HistoryEntry.action == "status_changed",
            HistoryEntry.status == TicketStatus.SOLVED.value,
        )
        .scalar_subquery()
    )
    select = (
        sa.select(
            Ticket.id,
            Ticket.external_id,
            Account.name,
            Order.external_id,
            Ticket.reason,
            Ticket.suggested_solution,
            Ticket.status,
            Ticket.outcome,
            sa.func.coalesce(Staff.name, Staff.email),
            claimed,
            granted,
            Ticket.created_at,
            Ticket.updated_at,
            sa.type_coerce(first_reply, Message.created_at.type),
            sa.case((Ticket.status == TicketStatus.SOLVED.value, sa.type_coerce(solved_at, HistoryEntry.at.type))),
        )
        .join(Account, Account.id == Ticket.account_id)
        .join(Order, Order.id == Ticket.order_id)
        .outerjoin(Staff, Staff.id == Ticket.assignee_id)
        .where(_in_range(Ticket.created_at, period))
        .order_by(Ticket.id)
    )
    yield CSV_COLUMNS
    for row in session.execute(select.execution_options(yield_per=500)):
        yield [_safe(value) for value in row]


def csv_text(rows: Iterator[list[str]]) -> Iterator[str]:
    """The rows as CSV, a chunk of lines at a time (for a streamed answer)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for count, row in enumerate(rows, 1):
        writer.writerow(row)
        if count % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
