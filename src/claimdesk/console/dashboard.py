"""The dashboard's figures over a date range, each one aggregate query on either database, and the CSV export.

Weeks start on Monday (UTC). Percentiles are nearest-rank, taken with window functions, so SQLite (which
has no percentile function) and PostgreSQL compute the same numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from claimdesk.exceptions import ValidationFailed
from claimdesk.models import Account, HistoryEntry, Message, Order, Staff, Ticket, TicketProduct
from claimdesk.rules.catalogue import Reason
from claimdesk.rules.codes import Code
from claimdesk.rules.problems import Problem
from claimdesk.rules.statuses import Outcome, TicketStatus
from claimdesk.timefmt import rfc3339

from . import rollups

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
        problems.append(Problem(name, Code.INVALID_TYPE, f"{name} must be a date, like 2026-01-31."))
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
        raise ValidationFailed([Problem("since", Code.OUT_OF_RANGE, "since must not be after until.")])
    if (stop - start).days > MAX_DAYS:
        raise ValidationFailed([Problem("since", Code.OUT_OF_RANGE, "The range can be at most three years.")])
    return DateRange(start, stop)


# --- the figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One line or stack of a chart: a value per week."""

    key: str
    values: list[int]


@dataclass(frozen=True, slots=True)
class Durations:
    """Median and 90th percentile in seconds (nearest rank, to the histogram's 4.5 %), over ``count`` events."""

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
    opened: list[Series]  # tickets filed per week, per reason (stacked)
    backlog: list[Series]  # open, pending, holding at the end of each week
    first_reply: Durations  # from filing to the first public staff reply, for the replies given in the range
    solve: Durations  # from filing to solved, for the solves in the range
    outcomes: dict[str, int]  # the range's solves by outcome
    top_products: list[RateRow]
    top_accounts: list[RateRow]

    @property
    def opened_total(self) -> int:
        return sum(sum(s.values) for s in self.opened)


def needs_rollup(session: Session, *, now: dt.datetime | None = None) -> bool:
    """Whether a settled day is not rolled up yet (a read: most dashboards need no write at all)."""
    first = rollups.first_day(session)
    return first is not None and rollups.missing(session, first, now=now) > 0


def prepare(session: Session, *, now: dt.datetime | None = None) -> int:
    """Roll up every settled day not rolled up yet (a unit of work of its own, before the dashboard reads)."""
    first = rollups.first_day(session)
    if first is None:
        return 0
    return rollups.ensure(session, first, now=now)


def _weekly(found: rollups.Totals, kind: str, weeks: list[dt.date]) -> dict[str, list[int]]:
    index = {monday: i for i, monday in enumerate(weeks)}
    series: dict[str, list[int]] = {}
    for (k, key, monday), value in found.weekly.items():
        if k == kind and monday in index:
            series.setdefault(key, [0] * len(weeks))[index[monday]] += value
    return series


def _durations(histogram: dict[str, int]) -> Durations:
    counts = sorted((int(bucket), count) for bucket, count in histogram.items() if count > 0)
    total = sum(count for _, count in counts)
    if not total:
        return Durations(0, None, None)

    def at(share: float) -> float:
        rank, seen = math.ceil(share * total), 0
        for bucket, count in counts:
            seen += count
            if seen >= rank:
                return round(rollups.bucket_seconds(bucket))
        return round(rollups.bucket_seconds(counts[-1][0]))

    return Durations(total, at(0.5), at(0.9))


def _rates(claimed: dict[str, int], ordered: dict[str, int], labels: dict[str, str]) -> list[RateRow]:
    rows = [
        RateRow(key, labels.get(key, key), claimed[key], ordered[key])
        for key in claimed
        if claimed[key] > 0 and ordered.get(key, 0) > 0
    ]
    rows.sort(key=lambda row: (-row.rate, -row.claimed, row.key))
    return rows[:TOP]


def dashboard(session: Session, period: DateRange, *, now: dt.datetime | None = None) -> Dashboard:
    """The figures of the range from the rollups (``prepare`` first) and today's rows."""
    weeks = period.weeks()
    found = rollups.totals(session, period.since, period.until, now=now)
    reasons = [r.value for r in Reason]
    opened = _weekly(found, "opened", weeks)
    first = rollups.first_day(session) or period.since
    moved = rollups.totals(session, min(first, period.since), period.until, now=now, kinds=("moved",))
    backlog = []
    for status in BACKLOG:
        values = []
        for monday in weeks:
            values.append(sum(v for (_, key, w), v in moved.weekly.items() if key == status.value and w <= monday))
        backlog.append(Series(status.value, values))
    accounts = found.of("claimed_account")
    top_ids = [int(key) for key in accounts]
    names = (
        {str(i): n for i, n in session.execute(sa.select(Account.id, Account.name).where(Account.id.in_(top_ids)))}
        if top_ids
        else {}
    )
    outcomes = found.of("outcome")
    return Dashboard(
        range=period,
        weeks=weeks,
        opened=[Series(reason, opened[reason]) for reason in sorted(opened, key=reasons.index)],
        backlog=backlog,
        first_reply=_durations(found.of("first_reply")),
        solve=_durations(found.of("solve")),
        outcomes={o.value: outcomes.get(o.value, 0) for o in Outcome},
        top_products=_rates(found.of("claimed_product"), found.of("ordered_product"), {}),
        top_accounts=_rates(accounts, found.of("ordered_account"), names),
    )


def _in_range(column: Moment, period: DateRange) -> sa.ColumnElement[bool]:
    return sa.and_(column >= period.start, column < period.end)


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
