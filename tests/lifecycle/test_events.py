"""GET /events: the reseller's own events, oldest first, paged by event id."""

from __future__ import annotations

import httpx
import pytest

from claimdesk.db import Database
from tests.factories import new_order, new_reseller, new_ticket

from .support import world


class TestEvents:
    def test_anonymous_and_staff(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        assert client.get("/events").status_code == 401
        assert client.get("/events", headers=w.staff.headers).status_code == 403

    @pytest.mark.parametrize(
        ("params", "loc", "code"),
        [
            ({"limit": "0"}, "limit", "out_of_range"),
            ({"limit": "201"}, "limit", "out_of_range"),
            ({"limit": "many"}, "limit", "invalid_type"),
            ({"since": "-1"}, "since", "invalid_type"),
            ({"since": "abc"}, "since", "invalid_type"),
            ({"since": "²"}, "since", "invalid_type"),  # a digit to str.isdigit, not to int()
        ],
    )
    def test_invalid(self, client: httpx.Client, db: Database, params: dict[str, str], loc: str, code: str) -> None:
        w = world(client, db)
        response = client.get("/events", params=params, headers=w.reseller.headers)
        assert response.status_code == 422
        assert response.json()["errors"] == [{**response.json()["errors"][0], "loc": loc, "code": code}]

    def test_own_events_oldest_first_in_pages(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        other = new_reseller(db)
        new_ticket(client, other, new_order(client, other))
        assert w.move(ticket["number"], "pending").status_code == 200
        assert (
            client.post(
                f"/tickets/{ticket['id']}/messages", json={"body": "Thanks"}, headers=w.reseller.headers
            ).status_code
            == 201
        )

        everything = client.get("/events", headers=w.reseller.headers).json()
        types = [e["type"] for e in everything["events"]]
        assert types == ["ticket.created", "ticket.status_changed", "ticket.message_added"]
        assert [e["data"]["sequence"] for e in everything["events"]] == [1, 2, 3]
        assert {e["data"]["ticket"]["id"] for e in everything["events"]} == {ticket["id"]}
        assert everything["next_since"] == everything["events"][-1]["id"]
        first = everything["events"][0]
        assert first["data"]["event_id"] == first["id"]
        assert first["timestamp"].endswith("Z")

        seen = []
        since = 0
        while True:
            page = client.get("/events", params={"since": str(since), "limit": "2"}, headers=w.reseller.headers).json()
            if not page["events"]:
                assert page["next_since"] == since
                break
            seen += page["events"]
            since = page["next_since"]
        assert seen == everything["events"]
        assert client.get("/events", headers=other.headers).json()["events"][0]["type"] == "ticket.created"
        assert len(client.get("/events", headers=other.headers).json()["events"]) == 1
