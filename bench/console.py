"""Server-side latency of the staff console's three heavy reads, on a database loaded by load_tickets.py.

    .venv/bin/python bench/load_tickets.py --url sqlite:///bench.db
    .venv/bin/python bench/console.py --url sqlite:///bench.db [--rounds 50]

Times what a request spends in the service layer and the database (no network, no template): the work
queue's first page (oldest waiting first, with its tab counts), searches (words, a ticket id, a product
code) and the dashboard over its default range (the last 12 weeks) and a year, from the rollups of past
days (load_tickets.py rolls them up once) and today's rows. Prints p50 and p95 per case.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from claimdesk.accounts.service import Actor, ActorType
from claimdesk.console import dashboard, queue
from claimdesk.console.search import search_problems
from claimdesk.db import Database
from claimdesk.models import Staff
from claimdesk.staff.service import StaffListQuery, parse_staff_query

PARAMS = ("status", "reason", "order_id", "updated_since", "limit", "cursor", "account", "assignee", "created_before")


def staff_query(actor: Actor, **params: str | None) -> Any:
    given: dict[str, str | None] = dict.fromkeys(PARAMS)
    given["sort"] = "waiting"
    given.update(params)
    return parse_staff_query(actor, StaffListQuery(**given))


def measure(db: Database, rounds: int, case: Callable[[Any], object]) -> tuple[float, float]:
    timings = []
    for _ in range(rounds):
        with db.session() as session:
            started = time.perf_counter()
            case(session)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[max(0, round(0.95 * len(timings)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    db = Database(args.url)
    with db.session() as session:
        staff_id = session.scalar(sa.select(Staff.id).order_by(Staff.id).limit(1))
    actor = Actor(ActorType.STAFF, staff_id, "bench")
    first_page = staff_query(actor)
    mine = staff_query(actor, assignee="me")
    period = dashboard.parse_range(None, None)
    year = dashboard.parse_range((dt.datetime.now(dt.UTC) - dt.timedelta(days=364)).date().isoformat(), None)

    def board(session: Any, span: dashboard.DateRange) -> object:
        # What the page does: check that every settled day is rolled up (the loader rolled them), then read.
        assert not dashboard.needs_rollup(session)
        return dashboard.dashboard(session, span)

    def searching(text: str) -> Callable[[Any], object]:
        search, _ = search_problems(text)
        return lambda session: queue.queue_page(session, first_page, search)

    cases: list[tuple[str, Callable[[Any], object]]] = [
        ("queue, first page", lambda session: queue.queue_page(session, first_page)),
        ("queue, assigned to me", lambda session: queue.queue_page(session, mine)),
        ("search: two words", searching("torn corner")),
        ("search: a common word", searching("banner")),
        ("search: a ticket id", searching("RT-0012345")),
        ("search: a product code", searching("poster-a3")),
        ("dashboard, 12 weeks", lambda session: board(session, period)),
        ("dashboard, a year", lambda session: board(session, year)),
    ]
    print(f"{db.engine.dialect.name}, {args.rounds} rounds each (ms)")
    for name, case in cases:
        measure(db, 3, case)  # warm the caches
        p50, p95 = measure(db, args.rounds, case)
        print(f"  {name:<26} p50 {p50:7.1f}   p95 {p95:7.1f}")
    db.dispose()


if __name__ == "__main__":
    main()
