"""Concurrent submissions on SQLite and PostgreSQL: one ticket per id, and never more items than ordered."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from claimdesk.db import Database
from claimdesk.models import Event, Ticket, TicketProduct
from claimdesk.testing.server import ThreadedServer
from tests.factories import Reseller, new_order, new_reseller, ticket_body
from tests.tickets.support import FILE_REASONS, OTHER_REASONS, count


@pytest.fixture
def reseller(db: Database) -> Reseller:
    return new_reseller(db)


def all_at_once(server: ThreadedServer, reseller: Reseller, bodies: list[bytes]) -> list[httpx.Response]:
    """POST each body to /tickets from its own thread and connection, released together."""
    start = threading.Barrier(len(bodies))
    headers = {**reseller.headers, "Content-Type": "application/json"}

    def submit(raw: bytes) -> httpx.Response:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            start.wait()
            return http.post("/tickets", content=raw, headers=headers)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(submit, bodies))


class TestConcurrentTickets:
    def test_twenty_at_once_with_the_same_id_make_one_ticket(
        self, client: httpx.Client, server: ThreadedServer, reseller: Reseller, db: Database
    ) -> None:
        order = new_order(client, reseller)
        raw = json.dumps(ticket_body(order, id="complaint-77")).encode()
        answers = all_at_once(server, reseller, [raw] * 20)
        statuses = Counter(a.status_code for a in answers)
        assert statuses == {201: 1, 200: 19}, [a.text for a in answers if a.status_code not in (200, 201)]
        numbers = {a.json()["ticket"]["number"] for a in answers}
        assert len(numbers) == 1
        assert {a.json()["message"] for a in answers if a.status_code == 200} == {"Ticket already received"}
        assert count(db, Ticket) == 1
        assert count(db, Event) == 1

    def test_tickets_on_one_line_never_exceed_the_ordered_amount(
        self, client: httpx.Client, server: ThreadedServer, reseller: Reseller, db: Database
    ) -> None:
        order = new_order(client, reseller, products=[{"id": 17, "amount": 5}])
        photo = [{"uri": "https://93.184.215.14/1.jpg"}]
        # Fourteen reasons, so that grouping never stands in the way: only the amounts can.
        bodies = [
            json.dumps(
                ticket_body(
                    order,
                    reason=reason,
                    products=[{"id": 17, "amount": 1, "files": photo if reason in FILE_REASONS else []}],
                )
            ).encode()
            for reason in FILE_REASONS + OTHER_REASONS
        ]
        answers = all_at_once(server, reseller, bodies)
        statuses = Counter(a.status_code for a in answers)
        assert statuses == {201: 5, 422: 9}, [a.text for a in answers if a.status_code not in (201, 422)]
        for answer in answers:
            if answer.status_code == 422:
                assert [e["code"] for e in answer.json()["errors"]] == ["amount_exceeds_order"]
        with db.session() as session:
            claimed = session.scalar(sa.select(sa.func.sum(TicketProduct.amount)))
        assert claimed == 5

    def test_larger_claims_at_once(
        self, client: httpx.Client, server: ThreadedServer, reseller: Reseller, db: Database
    ) -> None:
        order = new_order(client, reseller, products=[{"id": 17, "amount": 10}])
        bodies = [
            json.dumps(ticket_body(order, reason=reason, products=[{"id": 17, "amount": 3}])).encode()
            for reason in OTHER_REASONS
        ]
        answers = all_at_once(server, reseller, bodies)
        assert Counter(a.status_code for a in answers) == {201: 3, 422: 4}
        with db.session() as session:
            assert session.scalar(sa.select(sa.func.sum(TicketProduct.amount))) == 9

    def test_same_reason_and_product_at_once_make_one_ticket(
        self, client: httpx.Client, server: ThreadedServer, reseller: Reseller, db: Database
    ) -> None:
        order = new_order(client, reseller, products=[{"id": 17, "amount": 100}])
        bodies = [
            json.dumps(ticket_body(order, reason="missing", products=[{"id": 17, "amount": 1}])).encode()
            for _ in range(12)
        ]
        answers = all_at_once(server, reseller, bodies)
        assert Counter(a.status_code for a in answers) == {201: 1, 409: 11}
        assert count(db, Ticket) == 1
