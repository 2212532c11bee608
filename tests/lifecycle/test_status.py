"""POST /staff/tickets/{number}/status: the workflow, resolution, reopen, history and its one event."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from claimdesk.db import Database
from claimdesk.models import Event
from claimdesk.rules.statuses import TicketStatus
from tests.factories import new_reseller, ticket_body

from .support import ALLOWED, FORBIDDEN, RESOLUTION, World, path_to, world

PHOTO = {"uri": "https://93.184.215.14/photos/1.jpg"}


class TestAccess:
    def test_anonymous(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        response = client.post(f"/staff/tickets/{ticket['number']}/status", json={"status": "pending"})
        assert response.status_code == 401

    def test_reseller_key_is_forbidden(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        for method, path in (
            ("GET", "/staff/tickets"),
            ("GET", f"/staff/tickets/{ticket['number']}"),
            ("POST", f"/staff/tickets/{ticket['number']}/status"),
            ("POST", f"/staff/tickets/{ticket['number']}/messages"),
            ("POST", f"/staff/tickets/{ticket['number']}/assign"),
        ):
            response = client.request(method, path, json={"status": "pending"}, headers=w.reseller.headers)
            assert response.status_code == 403, (path, response.text)
            assert response.json()["error"]
        assert w.reseller_get(ticket["id"])["status"] == "open"

    @pytest.mark.parametrize("number", ["999999", "abc", "-1", "²", "1234567890123456789"])
    def test_not_found(self, client: httpx.Client, db: Database, number: str) -> None:
        w = world(client, db)
        response = client.post(f"/staff/tickets/{number}/status", json={"status": "pending"}, headers=w.staff.headers)
        assert response.status_code == 404
        assert client.get(f"/staff/tickets/{number}", headers=w.staff.headers).status_code == 404


class TestTransitions:
    @pytest.mark.parametrize(("source", "target"), ALLOWED, ids=[f"{s}-{t}" for s, t in ALLOWED])
    def test_allowed(self, client: httpx.Client, db: Database, source: TicketStatus, target: TicketStatus) -> None:
        w = world(client, db)
        ticket = w.ticket()
        w.walk(ticket["number"], path_to(source))
        before = len(w.events(ticket["number"]))
        response = w.move(ticket["number"], target.value)
        assert response.status_code == 200, response.text
        view = response.json()
        assert view["status"] == target.value
        entry = view["history"][-1]
        assert entry["action"] == "status_changed"
        assert entry["from"] == source.value
        assert entry["status"] == target.value
        assert entry["by"] == {"type": "staff", "id": w.staff.id, "name": w.staff.email}
        events = w.events(ticket["number"])
        assert len(events) == before + 1
        assert events[-1].type == "ticket.status_changed"
        assert events[-1].ticket["status"] == target.value
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))
        # The reseller sees the same status and history entry.
        seen = w.reseller_get(ticket["id"])
        assert seen["status"] == target.value
        assert seen["history"][-1] == entry
        # Waiting on the supplier (open, pending) keeps a waiting_since; holding and solved do not.
        assert (view["waiting_since"] is not None) == target.waits_for_supplier

    @pytest.mark.parametrize(("source", "target"), FORBIDDEN, ids=[f"{s}-{t}" for s, t in FORBIDDEN])
    def test_forbidden(self, client: httpx.Client, db: Database, source: TicketStatus, target: TicketStatus) -> None:
        w = world(client, db)
        ticket = w.ticket()
        w.walk(ticket["number"], path_to(source))
        before = w.staff_get(ticket["number"])
        response = w.move(ticket["number"], target.value)
        assert response.status_code == 409, response.text
        body = response.json()
        allowed = [s.value for s in source.allowed_moves()]
        assert body["allowed"] == allowed
        for name in allowed:
            assert name in body["error"]
        after = w.staff_get(ticket["number"])
        assert after == before  # nothing changed: status, version, history
        assert len(w.events(ticket["number"])) == len(path_to(source)) + 1


class TestInvalid:
    @pytest.mark.parametrize(
        ("body", "loc", "code"),
        [
            ({"status": "closed"}, "status", "invalid_choice"),
            ({}, "status", "required"),
            ({"status": "solved"}, "resolution", "required"),
            ({"status": "pending", "resolution": RESOLUTION}, "resolution", "not_allowed"),
            (
                {"status": "solved", "resolution": {"outcome": "refund", "note": "x"}},
                "resolution.outcome",
                "invalid_choice",
            ),
            ({"status": "solved", "resolution": {"outcome": "credit"}}, "resolution.note", "required"),
            ({"status": "solved", "resolution": {"outcome": "credit", "note": ""}}, "resolution.note", "too_short"),
            ({"status": "pending", "message": ""}, "message", "too_short"),
            ({"status": "pending", "message": "x" * 10_001}, "message", "too_long"),
            ({"status": "pending", "state": "x"}, "state", "unknown_field"),
        ],
    )
    def test_invalid_body(
        self, client: httpx.Client, db: Database, body: dict[str, object], loc: str, code: str
    ) -> None:
        w = world(client, db)
        ticket = w.ticket()
        before = w.staff_get(ticket["number"])
        response = client.post(f"/staff/tickets/{ticket['number']}/status", json=body, headers=w.staff.headers)
        assert response.status_code == 422, response.text
        assert {"loc": loc, "code": code} in [{"loc": e["loc"], "code": e["code"]} for e in response.json()["errors"]]
        assert w.staff_get(ticket["number"]) == before
        assert len(w.events(ticket["number"])) == 1

    def test_granting_more_than_claimed(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()  # claims 2 of product 17
        product = ticket["products"][0]["id"]
        cases = [
            (
                {"outcome": "credit", "note": "n", "products": [{"id": product, "granted": 3}]},
                "granted_exceeds_claimed",
            ),
            ({"outcome": "credit", "note": "n", "products": [{"id": "flyer", "granted": 1}]}, "product_not_in_ticket"),
            (
                {"outcome": "rejected", "note": "n", "products": [{"id": product, "granted": 1}]},
                "granted_when_rejected",
            ),
            ({"outcome": "credit", "note": "n", "products": [{"id": product, "granted": -1}]}, "out_of_range"),
        ]
        for resolution, code in cases:
            response = w.move(ticket["number"], "solved", resolution=resolution)
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["code"] == code
        assert w.staff_get(ticket["number"])["status"] == "open"
        assert len(w.events(ticket["number"])) == 1


class TestResolution:
    def test_solve_with_grants_then_reopen(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        product = ticket["products"][0]["id"]
        resolution = {"outcome": "credit", "note": "One was fine.", "products": [{"id": str(product), "granted": 1}]}
        response = w.move(ticket["number"], "solved", resolution=resolution)
        assert response.status_code == 200, response.text
        view = response.json()
        stored = {"outcome": "credit", "note": "One was fine.", "products": [{"id": product, "granted": 1}]}
        assert view["resolution"] == stored
        assert view["products"][0]["granted"] == 1
        assert view["history"][-1]["resolution"] == stored
        assert w.reseller_get(ticket["id"])["resolution"] == stored

        reopened = w.move(ticket["number"], "pending")
        assert reopened.status_code == 200, reopened.text
        view = reopened.json()
        assert view["resolution"] is None
        assert view["products"][0]["granted"] is None
        entry = view["history"][-1]
        assert entry["from"] == "solved"
        assert entry["previous_resolution"] == stored
        assert view["waiting_since"] is not None

    def test_message_with_status_change_is_one_event(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        response = w.move(ticket["number"], "holding", message="Could you send a photo of the label?")
        assert response.status_code == 200, response.text
        events = w.events(ticket["number"])
        assert [e.type for e in events] == ["ticket.created", "ticket.status_changed"]
        snapshot = events[-1].ticket
        assert snapshot["status"] == "holding"
        assert [m["body"] for m in snapshot["messages"]] == ["Could you send a photo of the label?"]
        message = w.reseller_get(ticket["id"])["messages"][0]
        assert message["by"] == {"type": "staff", "id": w.staff.id, "name": w.staff.email}
        assert "internal" not in message

    def test_rejected_items_are_claimable_again(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        product = w.order["products"][0]  # 3 ordered
        first = w.ticket(
            products=[{"id": product["id"], "amount": 3, "files": [{"uri": "https://93.184.215.14/a.jpg"}]}]
        )
        assert (
            w.move(
                first["number"], "solved", resolution={"outcome": "rejected", "note": "Fine on arrival."}
            ).status_code
            == 200
        )
        assert w.staff_get(first["number"])["products"][0]["granted"] == 0
        status = client.post("/order/status", json={"orders": [{"id": w.order["id"]}]}, headers=w.reseller.headers)
        assert status.json()["orders"][0]["products"][0]["claimable"] == 3
        # Another ticket claims two of them; reopening the rejected one would claim 3 of the 1 left.
        w.ticket(
            reason="color",
            products=[{"id": product["id"], "amount": 2, "files": [{"uri": "https://93.184.215.14/b.jpg"}]}],
        )
        before = len(w.events(first["number"]))
        response = w.move(first["number"], "pending")
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["errors"][0]["code"] == "amount_exceeds_order"
        assert "1" in body["errors"][0]["message"]
        assert w.staff_get(first["number"])["status"] == "solved"
        assert len(w.events(first["number"])) == before

    def test_reopen_of_rejected_ticket_claims_again(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        first = w.ticket()
        assert w.move(first["number"], "solved", resolution={"outcome": "rejected", "note": "No."}).status_code == 200
        assert w.move(first["number"], "pending").status_code == 200
        status = client.post("/order/status", json={"orders": [{"id": w.order["id"]}]}, headers=w.reseller.headers)
        assert status.json()["orders"][0]["products"][0]["claimable"] == 1


class TestReopenKeepsTheGroupingRule:
    """Intake refuses a second unsolved ticket with the same reason on a product; reopening must too."""

    def _flyers(self, w: World, reason: str = "damaged") -> dict[str, Any]:
        return w.ticket(
            reason=reason,
            products=[{"id": "flyer", "amount": 1, "files": [PHOTO]}, {"id": 17, "amount": 1, "files": [PHOTO]}],
        )

    def test_reopen_refused_while_another_unsolved_ticket_has_the_reason(
        self, client: httpx.Client, db: Database
    ) -> None:
        w = world(client, db)
        first = w.ticket(products=[{"id": 17, "amount": 1, "files": [PHOTO]}])
        assert w.move(first["number"], "solved").status_code == 200
        second = self._flyers(w)  # allowed: the first is solved
        before = len(w.events(first["number"]))
        version = w.staff_get(first["number"])["version"]
        response = w.move(first["number"], "pending")
        assert response.status_code == 409, response.text
        body = response.json()
        # The same answer as intake's for the grouping rule: the product's place, the code, the other ticket.
        assert [(e["loc"], e["code"]) for e in body["errors"]] == [("products.0.id", "ticket_exists")]
        assert second["id"] in body["errors"][0]["message"]
        assert second["id"] in body["error"]
        assert body["ticket"] == {"id": second["id"], "number": second["number"], "status": "open"}
        intake = client.post(
            "/tickets",
            json=ticket_body(w.order, products=[{"id": 17, "amount": 1, "files": [PHOTO]}]),
            headers=w.reseller.headers,
        )
        assert intake.status_code == 409
        assert set(intake.json()) == set(body)
        # Nothing changed: still solved with its resolution, no event, no new version.
        after = w.staff_get(first["number"])
        assert (after["status"], after["version"], after["resolution"]) == ("solved", version, RESOLUTION)
        assert len(w.events(first["number"])) == before

    def test_the_oldest_holder_is_named_at_the_first_product_it_holds(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        first = self._flyers(w)
        assert w.move(first["number"], "solved").status_code == 200
        on_17 = w.ticket(products=[{"id": 17, "amount": 1, "files": [PHOTO]}])
        w.ticket(products=[{"id": "flyer", "amount": 1, "files": [PHOTO]}])
        response = w.move(first["number"], "pending")
        assert response.status_code == 409, response.text
        assert response.json()["ticket"]["id"] == on_17["id"]  # the oldest of the two holders
        assert [(e["loc"], e["code"]) for e in response.json()["errors"]] == [("products.1.id", "ticket_exists")]

    def test_reopen_allowed_once_the_other_is_solved_or_for_another_reason(
        self, client: httpx.Client, db: Database
    ) -> None:
        w = world(client, db)
        first = self._flyers(w)
        assert w.move(first["number"], "solved").status_code == 200
        other_reason = self._flyers(w, reason="color")
        same_reason = self._flyers(w)
        assert w.move(first["number"], "pending").status_code == 409
        assert w.move(same_reason["number"], "solved").status_code == 200
        response = w.move(first["number"], "pending")
        assert response.status_code == 200, response.text
        assert w.staff_get(other_reason["number"])["status"] == "open"
        # And now the one just solved cannot come back: the reopened ticket holds the products again.
        response = w.move(same_reason["number"], "pending")
        assert response.status_code == 409
        assert response.json()["ticket"]["id"] == first["id"]

    def test_a_rejected_ticket_is_checked_for_both_rules(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        first = w.ticket(products=[{"id": 17, "amount": 1, "files": [PHOTO]}])
        assert w.move(first["number"], "solved", resolution={"outcome": "rejected", "note": "No."}).status_code == 200
        second = w.ticket(products=[{"id": 17, "amount": 1, "files": [PHOTO]}])  # 2 of 3 claimed: amounts fit
        response = w.move(first["number"], "pending")
        assert response.status_code == 409, response.text
        assert response.json()["ticket"]["id"] == second["id"]
        assert response.json()["errors"][0]["code"] == "ticket_exists"


class TestVersion:
    def test_stale_version_is_a_conflict(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        version = w.staff_get(ticket["number"])["version"]
        assert w.move(ticket["number"], "pending", version=version).status_code == 200
        response = w.move(ticket["number"], "holding", version=version)
        assert response.status_code == 409
        assert "changed since you read it" in response.json()["error"]
        assert w.staff_get(ticket["number"])["status"] == "pending"


def test_other_accounts_see_nothing(client: httpx.Client, db: Database) -> None:
    w = world(client, db)
    ticket = w.ticket()
    other = new_reseller(db)
    assert client.get(f"/tickets/{ticket['id']}", headers=other.headers).status_code == 404
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.account_id == other.id)) == 0
