"""POST /order and POST /order/status, against the real server on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from claimdesk.db import Database
from claimdesk.models import Order
from tests.api.expect import message_at, refused
from tests.factories import Reseller, new_order, new_reseller, new_ticket, order_body, ticket_body
from tests.tickets.support import count


@pytest.fixture
def reseller(db: Database) -> Reseller:
    return new_reseller(db)


class TestCreateOrder:
    def test_anonymous_is_401(self, client: httpx.Client, db: Database) -> None:
        response = client.post("/order", json=order_body())
        assert response.status_code == 401
        assert response.json()["error"]
        assert count(db, Order) == 0

    def test_accepted_shape(self, client: httpx.Client, reseller: Reseller) -> None:
        body = order_body(
            id="my_weborder_1234",
            callback_urls=["https://93.184.215.14/hooks/orders"],
            products=[{"id": 17, "code": "banner-510", "amount": 3}, {"id": "A-1", "code": "flyer-a5", "amount": 500}],
        )
        response = client.post("/order", json=body, headers=reseller.headers)
        assert response.status_code == 201, response.text
        answer = response.json()
        assert answer["status"] == "accepted"
        assert answer["message"] == "Order accepted"
        order = answer["order"]
        assert order["id"] == "my_weborder_1234"
        assert order["reference"] == "Banner 510 for customer X"
        assert isinstance(order["supplier_order_number"], int)
        assert not isinstance(order["supplier_order_number"], bool)
        # Shown as registered: 17 stays a number, "A-1" a string.
        assert order["products"] == [
            {"id": 17, "code": "banner-510", "amount": 3},
            {"id": "A-1", "code": "flyer-a5", "amount": 500},
        ]

    def test_string_and_integer_ids_stay_as_registered(self, client: httpx.Client, reseller: Reseller) -> None:
        order = new_order(client, reseller, products=[{"id": "17", "amount": 1}, {"id": 18, "amount": 1}])
        assert [p["id"] for p in order["products"]] == ["17", 18]

    def test_server_assigns_missing_product_ids(self, client: httpx.Client, reseller: Reseller) -> None:
        order = new_order(
            client,
            reseller,
            products=[{"code": "a", "amount": 1}, {"id": 1, "code": "b", "amount": 1}, {"code": "c", "amount": 1}],
        )
        ids = [p["id"] for p in order["products"]]
        assert ids[1] == 1
        assert len({str(i) for i in ids}) == 3  # unique, and never the id the reseller gave
        assert all(isinstance(i, int) for i in ids)
        # The assigned ids work for tickets.
        ticket = new_ticket(
            client,
            reseller,
            order,
            reason="missing",
            products=[{"id": ids[0], "amount": 1}, {"id": ids[2], "amount": 1}],
        )
        assert [p["id"] for p in ticket["products"]] == [ids[0], ids[2]]

    def test_supplier_order_numbers_differ(self, client: httpx.Client, reseller: Reseller) -> None:
        first = new_order(client, reseller)
        second = new_order(client, reseller)
        assert first["supplier_order_number"] != second["supplier_order_number"]

    def test_duplicate_order_id_is_409(self, client: httpx.Client, reseller: Reseller, db: Database) -> None:
        new_order(client, reseller, id="my_weborder_1234")
        response = client.post("/order", json=order_body(id="my_weborder_1234"), headers=reseller.headers)
        assert response.status_code == 409
        assert response.json()["error"] == "Order with customer order id 'my_weborder_1234' already exists"
        assert count(db, Order) == 1

    def test_same_order_id_in_another_account(self, client: httpx.Client, reseller: Reseller, db: Database) -> None:
        new_order(client, reseller, id="shared-id")
        new_order(client, new_reseller(db), id="shared-id")
        assert count(db, Order) == 2

    def test_required_fields(self, client: httpx.Client, reseller: Reseller, db: Database) -> None:
        response = client.post("/order", json={}, headers=reseller.headers)
        assert set(refused(response)) == {("id", "required"), ("products", "required")}
        assert count(db, Order) == 0

    @pytest.mark.parametrize(("lines", "code"), [(0, "too_few"), (101, "too_many")])
    def test_line_count(self, client: httpx.Client, reseller: Reseller, lines: int, code: str) -> None:
        products = [{"id": i, "amount": 1} for i in range(lines)]
        response = client.post("/order", json=order_body(products=products), headers=reseller.headers)
        assert refused(response) == [("products", code)]

    def test_hundred_lines_are_fine(self, client: httpx.Client, reseller: Reseller) -> None:
        order = new_order(client, reseller, products=[{"id": i, "amount": 1} for i in range(100)])
        assert len(order["products"]) == 100

    @pytest.mark.parametrize("amount", [0, -1])
    def test_amount_at_least_one(self, client: httpx.Client, reseller: Reseller, amount: int) -> None:
        response = client.post(
            "/order", json=order_body(products=[{"id": 1, "amount": amount}]), headers=reseller.headers
        )
        assert refused(response) == [("products.0.amount", "out_of_range")]

    def test_amount_must_be_an_integer(self, client: httpx.Client, reseller: Reseller) -> None:
        body = order_body(products=[{"id": 1, "amount": "3"}, {"id": 2, "amount": 1.5}, {"id": 3, "amount": True}])
        response = client.post("/order", json=body, headers=reseller.headers)
        assert refused(response) == [
            ("products.0.amount", "invalid_type"),
            ("products.1.amount", "invalid_type"),
            ("products.2.amount", "invalid_type"),
        ]

    def test_duplicate_product_ids(self, client: httpx.Client, reseller: Reseller, db: Database) -> None:
        body = order_body(products=[{"id": 17, "amount": 1}, {"id": 18, "amount": 1}, {"id": "17", "amount": 1}])
        response = client.post("/order", json=body, headers=reseller.headers)
        assert refused(response) == [("products.2.id", "duplicate_product")]
        assert count(db, Order) == 0

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1/hook",
            "http://10.1.2.3/hook",
            "https://localhost/hook",
            "http://192.168.0.1/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest",
        ],
    )
    def test_callback_url_not_allowed(self, client: httpx.Client, reseller: Reseller, url: str, db: Database) -> None:
        body = order_body(callback_urls=["https://93.184.215.14/ok", url])
        response = client.post("/order", json=body, headers=reseller.headers)
        assert refused(response) == [("callback_urls.1", "url_not_allowed")]
        assert count(db, Order) == 0

    @pytest.mark.parametrize("url", ["/relative/hook", "ftp://93.184.215.14/hook", "https://", "not a url"])
    def test_callback_url_invalid(self, client: httpx.Client, reseller: Reseller, url: str) -> None:
        response = client.post("/order", json=order_body(callback_urls=[url]), headers=reseller.headers)
        assert refused(response) == [("callback_urls.0", "invalid_uri")]

    def test_invalid_customer_email(self, client: httpx.Client, reseller: Reseller) -> None:
        response = client.post("/order", json=order_body(customer_email="nobody"), headers=reseller.headers)
        assert refused(response) == [("customer_email", "invalid_email")]

    def test_unknown_field_with_suggestion(self, client: httpx.Client, reseller: Reseller) -> None:
        body = order_body(refrence="x", products=[{"id": 1, "amount": 1, "cod": "x"}])
        response = client.post("/order", json=body, headers=reseller.headers)
        assert set(refused(response)) == {("refrence", "unknown_field"), ("products.0.cod", "unknown_field")}
        assert "'reference'" in message_at(response, "refrence")
        assert "'code'" in message_at(response, "products.0.cod")

    def test_every_mistake_at_once(self, client: httpx.Client, reseller: Reseller) -> None:
        body = {"id": "", "customer_email": 5, "products": [{"id": 1, "amount": 0}]}
        response = client.post("/order", json=body, headers=reseller.headers)
        assert set(refused(response)) == {
            ("id", "too_short"),
            ("customer_email", "invalid_type"),
            ("products.0.amount", "out_of_range"),
        }


def status_of(client: httpx.Client, reseller: Reseller, *queries: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/order/status", json={"orders": list(queries)}, headers=reseller.headers)
    assert response.status_code == 200, response.text
    orders: list[dict[str, Any]] = response.json()["orders"]
    return orders


class TestOrderStatus:
    def test_anonymous_is_401(self, client: httpx.Client) -> None:
        assert client.post("/order/status", json={"orders": [{"id": "x"}]}).status_code == 401

    def test_by_id_number_and_reference_in_request_order(self, client: httpx.Client, reseller: Reseller) -> None:
        first = new_order(client, reseller, reference="first ref")
        second = new_order(client, reseller, reference="second ref")
        found = status_of(
            client,
            reseller,
            {"reference": "second ref"},
            {"id": first["id"]},
            {"supplier_order_number": second["supplier_order_number"]},
            {"supplier_order_number": str(first["supplier_order_number"])},
        )
        assert [o["id"] for o in found] == [second["id"], first["id"], second["id"], first["id"]]
        shown = found[1]
        assert shown["supplier_order_number"] == first["supplier_order_number"]
        assert shown["reference"] == "first ref"
        assert shown["tickets"] == []
        assert shown["products"] == [
            {"id": 17, "code": "banner-510", "amount": 3, "claimable": 3},
            {"id": "flyer", "code": "flyer-a5", "amount": 500, "claimable": 500},
        ]

    def test_not_found_entry(self, client: httpx.Client, reseller: Reseller) -> None:
        order = new_order(client, reseller)
        found = status_of(client, reseller, {"id": "nope"}, {"id": order["id"]}, {"supplier_order_number": 999999})
        assert found[0] == {"error": "Order not found", "query": {"id": "nope"}}
        assert found[1]["id"] == order["id"]
        assert found[2] == {"error": "Order not found", "query": {"supplier_order_number": 999999}}

    @pytest.mark.parametrize(
        ("query", "loc"),
        [
            ({"id": "a\x00b"}, "orders.0.id"),
            ({"reference": "ref\x00"}, "orders.0.reference"),
            ({"id": "\ud800"}, "orders.0.id"),
            ({"supplier_order_number": "1\x00"}, "orders.0.supplier_order_number"),
        ],
    )
    def test_invalid_text(self, client: httpx.Client, reseller: Reseller, query: dict[str, Any], loc: str) -> None:
        raw = json.dumps({"orders": [query]}).encode()
        response = client.post(
            "/order/status", content=raw, headers={**reseller.headers, "Content-Type": "application/json"}
        )
        assert refused(response) == [(loc, "invalid_text")]

    @pytest.mark.parametrize("value", [[], True, 1.5, {"a": 1}])
    @pytest.mark.parametrize("key", ["id", "supplier_order_number", "reference"])
    def test_wrong_types_at_their_field(self, client: httpx.Client, reseller: Reseller, key: str, value: Any) -> None:
        response = client.post("/order/status", json={"orders": [{key: value}]}, headers=reseller.headers)
        assert refused(response) == [(f"orders.0.{key}", "invalid_type")]

    def test_queries_are_echoed_as_sent(self, client: httpx.Client, reseller: Reseller) -> None:
        found = status_of(client, reseller, {"id": 5}, {"supplier_order_number": "77"}, {"reference": "r"})
        assert [entry["query"] for entry in found] == [{"id": 5}, {"supplier_order_number": "77"}, {"reference": "r"}]

    def test_another_accounts_order_is_not_found(self, client: httpx.Client, reseller: Reseller, db: Database) -> None:
        other = new_reseller(db)
        theirs = new_order(client, other, reference="theirs")
        found = status_of(
            client,
            reseller,
            {"id": theirs["id"]},
            {"supplier_order_number": theirs["supplier_order_number"]},
            {"reference": "theirs"},
        )
        assert [entry.get("error") for entry in found] == ["Order not found"] * 3

    @pytest.mark.parametrize(("count", "code"), [(0, "too_few"), (6, "too_many")])
    def test_one_to_five_entries(self, client: httpx.Client, reseller: Reseller, count: int, code: str) -> None:
        body = {"orders": [{"id": f"o{i}"} for i in range(count)]}
        response = client.post("/order/status", json=body, headers=reseller.headers)
        assert refused(response) == [("orders", code)]

    def test_five_entries_are_fine(self, client: httpx.Client, reseller: Reseller) -> None:
        assert len(status_of(client, reseller, *({"id": f"o{i}"} for i in range(5)))) == 5

    def test_entry_needs_one_key(self, client: httpx.Client, reseller: Reseller) -> None:
        response = client.post(
            "/order/status", json={"orders": [{}, {"id": "a", "reference": "b"}]}, headers=reseller.headers
        )
        locs = [loc for loc, _ in refused(response)]
        assert locs == ["orders.0", "orders.1"]

    def test_unknown_key_in_entry(self, client: httpx.Client, reseller: Reseller) -> None:
        response = client.post("/order/status", json={"orders": [{"order_id": "a"}]}, headers=reseller.headers)
        assert refused(response) == [("orders.0.order_id", "unknown_field")]

    def test_claimable_goes_down_with_tickets(self, client: httpx.Client, reseller: Reseller) -> None:
        order = new_order(client, reseller)
        ticket = new_ticket(
            client,
            reseller,
            order,
            reason="damaged",
            products=[
                {"id": 17, "amount": 2, "files": [{"uri": "https://93.184.215.14/a.jpg"}]},
                {"id": "flyer", "amount": 100, "files": [{"uri": "https://93.184.215.14/b.jpg"}]},
            ],
        )
        new_ticket(client, reseller, order, reason="missing", products=[{"id": 17, "amount": 1}])
        [found] = status_of(client, reseller, {"id": order["id"]})
        assert [p["claimable"] for p in found["products"]] == [0, 400]
        assert found["tickets"][0]["id"] == ticket["id"]
        assert [(t["status"], t["reason"]) for t in found["tickets"]] == [("open", "damaged"), ("open", "missing")]
        # Nothing of line 17 is left to claim.
        response = client.post(
            "/tickets",
            json=ticket_body(order, reason="delayed", products=[{"id": 17, "amount": 1}]),
            headers=reseller.headers,
        )
        assert refused(response) == [("products.0.amount", "amount_exceeds_order")]
