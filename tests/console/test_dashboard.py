"""The dashboard's aggregates over weeks, computed on both databases, and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import httpx
import pytest
import sqlalchemy as sa

from claimdesk.console import dashboard
from claimdesk.db import Database
from claimdesk.exceptions import ValidationFailed
from claimdesk.models import HistoryEntry, Message, Order, Ticket
from tests.lifecycle.support import World, world

UTC = dt.UTC


def at(day: int, hour: int = 0, month: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)


def backdate(
    w: World, number: int, created: dt.datetime, changes: list[dt.datetime], replies: list[dt.datetime]
) -> None:
    """Move a ticket's filing, its history entries after ``created`` and its messages to the given times."""
    with w.db.transaction() as session:
        session.execute(sa.update(Ticket).where(Ticket.id == number).values(created_at=created))
        entries = list(
            session.scalars(sa.select(HistoryEntry).where(HistoryEntry.ticket_id == number).order_by(HistoryEntry.id))
        )
        assert len(entries) == len(changes) + 1
        for entry, when in zip(entries, [created, *changes], strict=True):
            entry.at = when
        messages = list(session.scalars(sa.select(Message).where(Message.ticket_id == number).order_by(Message.id)))
        assert len(messages) == len(replies)
        for message, when in zip(messages, replies, strict=True):
            message.created_at = when


@pytest.fixture
def weeks(client: httpx.Client, db: Database) -> World:
    """Four weeks of October 2026 (Mondays 5, 12, 19, 26): A filed and solved, B filed and holding, C open."""
    w = world(client, db)  # 3 of product 17 (banner-510), 500 flyers
    a = w.ticket(products=[{"id": 17, "amount": 2, "files": [{"uri": "https://93.184.215.14/a.jpg"}]}])
    staff = w.staff.headers
    assert client.post(f"/staff/tickets/{a['number']}/messages", json={"body": "Looking"}, headers=staff).is_success
    solved = w.move(a["number"], "solved", resolution={"outcome": "credit", "note": "Credited."})
    assert solved.status_code == 200, solved.text
    b = w.flyer_ticket("color")
    assert w.move(b["number"], "holding", message="A photo, please?").status_code == 200
    c = w.flyer_ticket("dirty")
    backdate(w, a["number"], at(6, 10), changes=[at(14, 10)], replies=[at(6, 12)])
    backdate(w, b["number"], at(13, 9), changes=[at(20, 9)], replies=[at(13, 13)])
    backdate(w, c["number"], at(27, 8), changes=[], replies=[])
    with db.transaction() as session:
        session.execute(sa.update(Order).values(created_at=at(5, 1)))
    return w


def board_of(db: Database, since: str, until: str) -> dashboard.Dashboard:
    """The dashboard as its page computes it: settled days rolled up first, then read."""
    if db.read(dashboard.needs_rollup):
        db.write(dashboard.prepare)
    assert not db.read(dashboard.needs_rollup)
    return db.read(dashboard.dashboard, dashboard.parse_range(since, until))


def october(db: Database) -> dashboard.Dashboard:
    return board_of(db, "2026-10-05", "2026-11-01")


def test_weekly_series(weeks: World) -> None:
    board = october(weeks.db)
    assert board.weeks == [dt.date(2026, 10, d) for d in (5, 12, 19, 26)]
    assert {s.key: s.values for s in board.opened} == {
        "damaged": [1, 0, 0, 0],
        "color": [0, 1, 0, 0],
        "dirty": [0, 0, 0, 1],
    }
    assert [s.key for s in board.opened] == ["damaged", "color", "dirty"]  # the guide's order
    assert board.opened_total == 3
    assert {s.key: s.values for s in board.backlog} == {
        "open": [1, 1, 0, 1],
        "pending": [0, 0, 0, 0],
        "holding": [0, 0, 1, 1],
    }


def test_times_outcomes_and_rates(weeks: World) -> None:
    board = october(weeks.db)
    # Read from histograms: within 4.5 % of 2 h and 4 h, and of 8 days.
    assert board.first_reply.count == 2
    assert board.first_reply.median == pytest.approx(2 * 3600, rel=0.045)
    assert board.first_reply.p90 == pytest.approx(4 * 3600, rel=0.045)
    assert board.solve.count == 1
    assert board.solve.median == board.solve.p90 == pytest.approx(8 * 86400, rel=0.045)
    assert board.outcomes == {"rework": 0, "credit": 1, "other": 0, "rejected": 0}
    assert [(r.key, r.claimed, r.ordered) for r in board.top_products] == [("banner-510", 2, 3), ("flyer-a5", 2, 500)]
    assert [(r.label, r.claimed, r.ordered) for r in board.top_accounts] == [(weeks.reseller.name, 4, 503)]


def test_a_range_outside_the_data_is_empty(weeks: World) -> None:
    board = board_of(weeks.db, "2026-09-01", "2026-09-30")
    assert board.opened == []
    assert board.first_reply == dashboard.Durations(0, None, None)
    assert board.top_products == []
    # Before any ticket was filed, nothing was waiting.
    assert all(v == 0 for s in board.backlog for v in s.values)


def test_csv_export(weeks: World) -> None:
    with weeks.db.session() as session:
        text = "".join(
            dashboard.csv_text(dashboard.export_rows(session, dashboard.parse_range("2026-10-05", "2026-11-01")))
        )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["reason"] for r in rows] == ["damaged", "color", "dirty"]
    first = rows[0]
    assert first["status"] == "solved"
    assert first["outcome"] == "credit"
    assert first["items_claimed"] == "2"
    assert first["created_at"] == "2026-10-06T10:00:00.000000Z"
    assert first["first_staff_reply_at"] == "2026-10-06T12:00:00.000000Z"
    assert first["solved_at"] == "2026-10-14T10:00:00.000000Z"
    assert rows[1]["solved_at"] == ""
    assert rows[1]["first_staff_reply_at"] == "2026-10-13T13:00:00.000000Z"
    assert list(rows[0]) == dashboard.CSV_COLUMNS


def test_csv_cells_never_run_as_formulas() -> None:
    assert dashboard._safe("=HYPERLINK()") == "'=HYPERLINK()"
    assert dashboard._safe("-1") == "'-1"
    assert dashboard._safe(None) == ""
    assert dashboard._safe(12) == "12"


@pytest.mark.parametrize(
    ("since", "until", "loc", "code"),
    [
        ("yesterday", None, "since", "invalid_type"),
        (None, "2026-13-01", "until", "invalid_type"),
        ("2026-10-02", "2026-10-01", "since", "out_of_range"),
        ("2020-01-01", "2026-01-01", "since", "out_of_range"),
    ],
)
def test_invalid_ranges(since: str | None, until: str | None, loc: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        dashboard.parse_range(since, until)
    assert (caught.value.problems[0].loc, caught.value.problems[0].code) == (loc, code)


def test_default_range_is_twelve_weeks_to_today() -> None:
    period = dashboard.parse_range(None, None, today=dt.date(2026, 12, 1))
    assert (period.since, period.until) == (dt.date(2026, 9, 9), dt.date(2026, 12, 1))
    assert len(period.weeks()) == 13


def test_today_counts_live_and_a_rejection_gives_its_claims_back(client: httpx.Client, db: Database) -> None:
    w = world(client, db)
    ticket = w.ticket()  # 2 banners, filed today
    today = dt.datetime.now(UTC).date().isoformat()
    before = board_of(db, today, today)
    assert before.opened_total == 1
    assert [(r.key, r.claimed) for r in before.top_products] == [("banner-510", 2)]
    rejected = w.move(ticket["number"], "solved", resolution={"outcome": "rejected", "note": "No damage seen."})
    assert rejected.status_code == 200, rejected.text
    after = board_of(db, today, today)
    assert after.top_products == []  # claimed 2, given back 2
    assert after.outcomes["rejected"] == 1
    assert after.solve.count == 1
    assert w.move(ticket["number"], "pending").status_code == 200  # reopened: claimed again
    again = board_of(db, today, today)
    assert [(r.key, r.claimed) for r in again.top_products] == [("banner-510", 2)]
    assert {s.key: s.values[-1] for s in again.backlog} == {"open": 0, "pending": 1, "holding": 0}


def test_each_settled_period_is_rolled_up_once(weeks: World) -> None:
    now = dt.datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # a Tuesday afternoon
    with weeks.db.transaction() as session:
        first = dashboard.prepare(session, now=now)
    with weeks.db.transaction() as session:
        second = dashboard.prepare(session, now=now)
    # From the first order (Monday 5 October): 57 whole days, 8 whole weeks, and today's hours 0-14.
    assert first == 57 + 8 + 15
    assert second == 0
    with weeks.db.transaction() as session:
        assert dashboard.prepare(session, now=now + dt.timedelta(hours=2)) == 2
    with weeks.db.transaction() as session:
        # The next day: 1 December as a day, and the new day's hours up to 11:00.
        assert dashboard.prepare(session, now=dt.datetime(2026, 12, 2, 11, 30, tzinfo=UTC)) == 1 + 11
    # The same figures whichever rollups a range is read from: whole weeks, days or live rows.
    with weeks.db.session() as session:
        by_weeks = dashboard.dashboard(session, dashboard.parse_range("2026-10-05", "2026-11-01"))
        by_days = dashboard.dashboard(session, dashboard.parse_range("2026-10-04", "2026-11-02"))
    assert {s.key: sum(s.values) for s in by_weeks.opened} == {s.key: sum(s.values) for s in by_days.opened}
    assert len(by_days.weeks) == len(by_weeks.weeks) + 2  # a Sunday before, a Monday after
    assert by_weeks.top_products == by_days.top_products
    assert by_weeks.first_reply == by_days.first_reply
