"""Assignment and the staff list: filters, the oldest-waiting work queue and its pages."""

from __future__ import annotations

import httpx
import pytest

from claimdesk.db import Database
from tests.factories import new_order, new_reseller, new_staff, new_ticket

from .support import world


class TestAssign:
    def test_assign_me_other_and_nobody(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        colleague = new_staff(db)
        path = f"/staff/tickets/{ticket['number']}/assign"

        me = client.post(path, json={"assignee": "me"}, headers=w.staff.headers)
        assert me.status_code == 200, me.text
        assert me.json()["assignee"] == {"id": w.staff.id, "email": w.staff.email, "name": None}
        entry = me.json()["history"][-1]
        assert entry["action"] == "assigned"
        assert entry["assignee"] == {"id": w.staff.id, "name": w.staff.email}
        assert entry["status"] == "open"
        assert entry["by"]["id"] == w.staff.id

        other = client.post(path, json={"assignee": colleague.id}, headers=w.staff.headers)
        assert other.json()["assignee"]["id"] == colleague.id
        nobody = client.post(path, json={"assignee": None}, headers=w.staff.headers)
        assert nobody.json()["assignee"] is None
        assert nobody.json()["history"][-1]["assignee"] is None
        assert [h["action"] for h in nobody.json()["history"]] == ["created", "assigned", "assigned", "assigned"]

        # Assignment is the supplier's business: no reseller event, no entry in the reseller's history.
        assert len(w.events(ticket["number"])) == 1
        assert [h["action"] for h in w.reseller_get(ticket["id"])["history"]] == ["created"]

    @pytest.mark.parametrize(
        ("body", "code"),
        [({"assignee": 999999}, "staff_not_found"), ({"assignee": "you"}, "invalid_type"), ({}, "required")],
    )
    def test_invalid(self, client: httpx.Client, db: Database, body: dict[str, object], code: str) -> None:
        w = world(client, db)
        ticket = w.ticket()
        response = client.post(f"/staff/tickets/{ticket['number']}/assign", json=body, headers=w.staff.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0] == {**response.json()["errors"][0], "loc": "assignee", "code": code}
        assert w.staff_get(ticket["number"])["assignee"] is None


class TestStaffList:
    def test_filters(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        first = w.ticket()
        second = w.flyer_ticket("color")
        other_reseller = new_reseller(db)
        third = new_ticket(client, other_reseller, new_order(client, other_reseller))
        assert (
            client.post(
                f"/staff/tickets/{second['number']}/assign", json={"assignee": "me"}, headers=w.staff.headers
            ).status_code
            == 200
        )
        assert w.move(third["number"], "holding").status_code == 200

        def numbers(**params: str) -> list[int]:
            response = client.get("/staff/tickets", params=params, headers=w.staff.headers)
            assert response.status_code == 200, response.text
            return [t["number"] for t in response.json()["tickets"]]

        everyone = [third["number"], second["number"], first["number"]]
        assert numbers() == everyone
        assert numbers(account=str(w.reseller.id)) == [second["number"], first["number"]]
        assert numbers(assignee="me") == [second["number"]]
        assert numbers(assignee=str(w.staff.id)) == [second["number"]]
        assert numbers(assignee="none") == [third["number"], first["number"]]
        assert numbers(status="holding") == [third["number"]]
        assert numbers(reason="color") == [second["number"]]
        assert numbers(order_id=w.order["id"]) == [second["number"], first["number"]]
        assert numbers(created_before="2000-01-01T00:00:00Z") == []
        assert numbers(created_before="2999-01-01T00:00:00Z") == everyone
        listed = client.get("/staff/tickets", headers=w.staff.headers).json()["tickets"][0]
        assert listed["account"] == {"id": other_reseller.id, "name": other_reseller.name}

    def test_work_queue_is_oldest_waiting_first_and_pages(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        order2 = new_order(client, w.reseller)
        order3 = new_order(client, w.reseller)
        a = w.ticket()
        b = new_ticket(client, w.reseller, order2)
        c = new_ticket(client, w.reseller, order3)
        # a waits on the reseller now; when the reseller answers it waits again, from then on.
        assert w.move(a["number"], "holding").status_code == 200
        queue = [b["number"], c["number"], a["number"]]  # a last: holding tickets do not wait on the supplier
        response = client.get("/staff/tickets", params={"sort": "waiting"}, headers=w.staff.headers)
        assert [t["number"] for t in response.json()["tickets"]] == queue
        assert (
            client.post(f"/tickets/{a['id']}/messages", json={"body": "Here."}, headers=w.reseller.headers).status_code
            == 201
        )
        assert w.move(b["number"], "pending").status_code == 200  # still waiting since it was filed
        queue = [b["number"], c["number"], a["number"]]
        seen: list[int] = []
        cursor = None
        while True:
            params = {"sort": "waiting", "limit": "1"} | ({"cursor": cursor} if cursor else {})
            page = client.get("/staff/tickets", params=params, headers=w.staff.headers)
            assert page.status_code == 200, page.text
            seen += [t["number"] for t in page.json()["tickets"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == queue
        # Solved tickets wait for nobody: they come last.
        assert w.move(b["number"], "solved").status_code == 200
        response = client.get("/staff/tickets", params={"sort": "waiting"}, headers=w.staff.headers)
        assert [t["number"] for t in response.json()["tickets"]] == [c["number"], a["number"], b["number"]]

    def test_newest_pages(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        made = [w.flyer_ticket(reason)["number"] for reason in ("damaged", "color", "dirty")]
        seen: list[int] = []
        cursor = None
        while True:
            params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
            page = client.get("/staff/tickets", params=params, headers=w.staff.headers).json()
            seen += [t["number"] for t in page["tickets"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == made[::-1]

    def test_invalid_query(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        response = client.get(
            "/staff/tickets",
            params={"sort": "oldest", "limit": "0", "account": "x", "assignee": "them", "status": "closed"},
            headers=w.staff.headers,
        )
        assert response.status_code == 422
        found = {(e["loc"], e["code"]) for e in response.json()["errors"]}
        assert found == {
            ("sort", "invalid_choice"),
            ("limit", "out_of_range"),
            ("account", "invalid_type"),
            ("assignee", "invalid_type"),
            ("status", "invalid_choice"),
        }
        bad_cursor = client.get("/staff/tickets", params={"sort": "waiting", "cursor": "nope"}, headers=w.staff.headers)
        assert bad_cursor.status_code == 422
        assert bad_cursor.json()["errors"][0]["loc"] == "cursor"
