"""POST /tickets and POST /tickets/validate: every rule of the guide, on SQLite and PostgreSQL.

Each test fails when its rule is taken out; each refused request must also leave nothing stored.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from claimdesk.db import Database
from claimdesk.jsonfmt import json_bytes
from claimdesk.models import Event, EvidenceFile, Job, Ticket
from tests.api.expect import message_at, refused
from tests.factories import Reseller, new_order, new_reseller, new_ticket, ticket_body
from tests.tickets.support import FILE_REASONS, OTHER_REASONS, PHOTO, count

SOLUTIONS = ["rework", "credit", "other"]
REQUIRED = ["order_id", "id", "reason", "suggested_solution", "contact_email", "products"]


def stored(db: Database) -> tuple[int, int, int, int]:
    """Tickets, events, files and jobs in the database."""
    return count(db, Ticket), count(db, Event), count(db, EvidenceFile), count(db, Job)


def mark_solved(db: Database, external_id: str, outcome: str = "credit") -> None:
    """Until the staff endpoints exist, a ticket is solved in the database directly."""
    with db.transaction() as session:
        session.execute(
            sa.update(Ticket)
            .where(Ticket.external_id == external_id)
            .values(status="solved", outcome=outcome, resolution={"outcome": outcome, "note": "done"})
        )


@pytest.fixture
def reseller(db: Database) -> Reseller:
    return new_reseller(db)


@pytest.fixture
def order(client: httpx.Client, reseller: Reseller) -> dict[str, Any]:
    """Product 17 (3 items) and "flyer" (500 items); customer end.customer@example.org."""
    return new_order(client, reseller)


def post(client: httpx.Client, reseller: Reseller, body: Any) -> httpx.Response:
    return client.post("/tickets", json=body, headers=reseller.headers)


class TestAuth:
    def test_anonymous_is_401(self, client: httpx.Client, db: Database) -> None:
        response = client.post("/tickets", json={})
        assert response.status_code == 401
        assert count(db, Ticket) == 0

    def test_another_accounts_order_is_not_found(
        self, client: httpx.Client, order: dict[str, Any], db: Database
    ) -> None:
        other = new_reseller(db)
        response = post(client, other, ticket_body(order))
        assert ("order_id", "order_not_found") in refused(response)
        # Not even the supplier_order_number of another account's order is recognised.
        response = post(client, other, ticket_body(order, order_id=order["supplier_order_number"]))
        assert ("order_id", "order_not_found") in refused(response)
        assert count(db, Ticket) == 0


class TestReceived:
    def test_guide_example(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database) -> None:
        body = ticket_body(order, id="complaint-77")
        response = post(client, reseller, body)
        assert response.status_code == 201, response.text
        answer = response.json()
        assert answer["status"] == "open"
        assert answer["message"] == "Ticket received"
        ticket = answer["ticket"]
        assert ticket["id"] == "complaint-77"
        assert isinstance(ticket["number"], int)
        assert ticket["order_id"] == order["id"]
        assert ticket["supplier_order_number"] == order["supplier_order_number"]
        assert ticket["description"] == "Two banners arrived torn"
        assert (ticket["reason"], ticket["suggested_solution"]) == ("damaged", "rework")
        assert ticket["contact_email"] == "support@reseller.example"
        assert ticket["status"] == "open"
        [line] = ticket["products"]
        assert (line["id"], line["amount"]) == (17, 2)
        assert [(f["uri"], f["state"]) for f in line["files"]] == [(PHOTO["uri"], "pending")]
        assert ticket["resolution"] is None
        [created] = ticket["history"]
        assert created["action"] == "created"
        assert created["status"] == "open"
        assert created["by"] == {"type": "reseller", "id": reseller.id, "name": reseller.name}
        assert ticket["messages"] == []
        assert ticket["created_at"].endswith("Z")
        assert ticket["updated_at"].endswith("Z")
        assert count(db, Ticket) == 1
        assert count(db, Event) == 1

    def test_the_answer_is_the_events_snapshot_as_orjson_writes_it(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        body = ticket_body(order, id="complaint-\u00e9", description="Zwei Banner \u00e4 \U0001f4f7\n\tzerrissen")
        response = post(client, reseller, body)
        assert response.status_code == 201, response.text
        assert response.headers["content-type"] == "application/json"
        answer = response.json()
        assert response.content == json_bytes(answer)
        assert (answer["status"], answer["message"]) == ("open", "Ticket received")
        with db.session() as session:
            [event] = session.scalars(sa.select(Event)).all()
        assert event.ticket == answer["ticket"]
        assert answer["ticket"]["description"] == body["description"]

    def test_numbers_are_unique_across_accounts(self, client: httpx.Client, db: Database) -> None:
        one, two = new_reseller(db), new_reseller(db)
        first = new_ticket(client, one, new_order(client, one), id="same")
        second = new_ticket(client, two, new_order(client, two), id="same")
        assert first["number"] != second["number"]

    def test_order_id_as_a_number_is_its_string_form(self, client: httpx.Client, reseller: Reseller) -> None:
        order = new_order(client, reseller, id="4711")
        ticket = new_ticket(client, reseller, order, order_id=4711)
        assert ticket["order_id"] == "4711"

    def test_description_is_optional(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]) -> None:
        body = ticket_body(order)
        del body["description"]
        response = post(client, reseller, body)
        assert response.status_code == 201, response.text
        assert response.json()["ticket"]["description"] is None

    def test_description_of_5000_and_id_of_64(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        ticket = new_ticket(client, reseller, order, id="i" * 64, description="d\n" * 2500)
        assert ticket["id"] == "i" * 64


class TestRequired:
    def test_every_missing_field_in_one_answer(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        response = post(client, reseller, {})
        assert sorted(refused(response)) == sorted((field, "required") for field in REQUIRED)
        assert stored(db) == (0, 0, 0, 0)

    @pytest.mark.parametrize("field", REQUIRED)
    def test_each_field_is_required(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], field: str
    ) -> None:
        body = ticket_body(order)
        del body[field]
        assert (field, "required") in refused(post(client, reseller, body))

    @pytest.mark.parametrize("field", ["id", "amount"])
    def test_product_line_fields_are_required(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], field: str
    ) -> None:
        line = {"id": 17, "amount": 1, "files": [PHOTO]}
        del line[field]
        response = post(client, reseller, ticket_body(order, products=[line]))
        assert refused(response) == [(f"products.0.{field}", "required")]

    def test_file_needs_a_uri(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]) -> None:
        response = post(client, reseller, ticket_body(order, products=[{"id": 17, "amount": 1, "files": [{}]}]))
        assert refused(response) == [("products.0.files.0.uri", "required")]


class TestChoices:
    @pytest.mark.parametrize("reason", FILE_REASONS + OTHER_REASONS)
    def test_each_reason_is_accepted(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], reason: str
    ) -> None:
        assert new_ticket(client, reseller, order, reason=reason)["reason"] == reason

    @pytest.mark.parametrize("solution", SOLUTIONS)
    def test_each_solution_is_accepted(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], solution: str
    ) -> None:
        assert new_ticket(client, reseller, order, suggested_solution=solution)["suggested_solution"] == solution

    def test_the_catalogue_lists_exactly_these(self, client: httpx.Client, reseller: Reseller) -> None:
        reasons = client.get("/reasons", headers=reseller.headers).json()["reasons"]
        assert {r["value"] for r in reasons} == set(FILE_REASONS + OTHER_REASONS)
        assert {r["value"] for r in reasons if r["files_required"]} == set(FILE_REASONS)
        assert reasons[0]["value"] == "damaged"
        assert reasons[-1]["value"] == "not-received"
        assert all(r["label"] and r["explanation"] for r in reasons)
        solutions = client.get("/solutions", headers=reseller.headers).json()["solutions"]
        assert [s["value"] for s in solutions] == SOLUTIONS
        assert all(s["label"] and s["explanation"] for s in solutions)

    @pytest.mark.parametrize(
        ("field", "value"),
        [("reason", "broken"), ("reason", "Damaged"), ("suggested_solution", "refund"), ("suggested_solution", "")],
    )
    def test_other_values_are_invalid_choice(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], field: str, value: str, db: Database
    ) -> None:
        response = post(client, reseller, ticket_body(order, **{field: value}))
        assert refused(response) == [(field, "invalid_choice")]
        assert count(db, Ticket) == 0


class TestFiles:
    @pytest.mark.parametrize("reason", FILE_REASONS)
    def test_files_required_on_every_line(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], reason: str, db: Database
    ) -> None:
        products = [{"id": 17, "amount": 1, "files": [PHOTO]}, {"id": "flyer", "amount": 1}]
        response = post(client, reseller, ticket_body(order, reason=reason, products=products))
        assert refused(response) == [("products.1.files", "files_required")]
        products = [{"id": 17, "amount": 1, "files": []}, {"id": "flyer", "amount": 1, "files": [PHOTO]}]
        response = post(client, reseller, ticket_body(order, reason=reason, products=products))
        assert refused(response) == [("products.0.files", "files_required")]
        assert stored(db) == (0, 0, 0, 0)

    @pytest.mark.parametrize("reason", OTHER_REASONS)
    def test_other_reasons_need_none_but_may_carry_files(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], reason: str
    ) -> None:
        products = [{"id": 17, "amount": 1}, {"id": "flyer", "amount": 1, "files": [PHOTO]}]
        ticket = new_ticket(client, reseller, order, reason=reason, products=products)
        assert [len(line["files"]) for line in ticket["products"]] == [0, 1]

    @pytest.mark.parametrize(
        "uri",
        [
            "/photos/1.jpg",
            "photos/1.jpg",
            "ftp://93.184.215.14/1.jpg",
            "file:///etc/passwd",
            "https://",
            "http:///1.jpg",
            "javascript:alert(1)",
            "https://exa mple.com/1.jpg",
            "https://93.184.215.14/a\u2003b.jpg",  # an em space is a space too
            "https://93.184.215.14:99999/1.jpg",
        ],
    )
    def test_invalid_uri(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], uri: str, db: Database
    ) -> None:
        response = post(
            client, reseller, ticket_body(order, products=[{"id": 17, "amount": 1, "files": [{"uri": uri}]}])
        )
        assert refused(response) == [("products.0.files.0.uri", "invalid_uri")]
        assert stored(db) == (0, 0, 0, 0)

    def test_uri_length(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]) -> None:
        base = "https://93.184.215.14/"
        longest = {"uri": base + "a" * (2048 - len(base))}
        too_long = {"uri": base + "a" * (2049 - len(base))}
        products = [{"id": 17, "amount": 1, "files": [longest, too_long]}]
        response = post(client, reseller, ticket_body(order, products=products))
        assert refused(response) == [("products.0.files.1.uri", "too_long")]
        assert new_ticket(client, reseller, order, products=[{"id": 17, "amount": 1, "files": [longest]}])

    @pytest.mark.parametrize(
        "uri",
        [
            "http://127.0.0.1/1.jpg",
            "http://10.0.0.8/1.jpg",
            "https://localhost/1.jpg",
            "https://LOCALHOST./1.jpg",
            "http://photos.localhost/1.jpg",
            "http://192.168.1.1/1.jpg",
            "http://172.16.0.1/1.jpg",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/1.jpg",
            "http://[::ffff:127.0.0.1]/1.jpg",
            "http://0.0.0.0/1.jpg",
        ],
    )
    def test_private_addresses_not_allowed(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], uri: str, db: Database
    ) -> None:
        products = [{"id": 17, "amount": 1, "files": [PHOTO, {"uri": uri}]}]
        response = post(client, reseller, ticket_body(order, products=products))
        assert refused(response) == [("products.0.files.1.uri", "url_not_allowed")]
        assert stored(db) == (0, 0, 0, 0)

    def test_ten_files_per_line_at_most(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]) -> None:
        files = [{"uri": f"https://93.184.215.14/{i}.jpg"} for i in range(11)]
        response = post(client, reseller, ticket_body(order, products=[{"id": 17, "amount": 1, "files": files}]))
        assert refused(response) == [("products.0.files", "too_many")]
        ticket = new_ticket(client, reseller, order, products=[{"id": 17, "amount": 1, "files": files[:10]}])
        assert len(ticket["products"][0]["files"]) == 10


class TestProducts:
    @pytest.mark.parametrize(("lines", "code"), [(0, "too_few"), (101, "too_many")])
    def test_one_to_a_hundred_lines(
        self, client: httpx.Client, reseller: Reseller, lines: int, code: str, db: Database
    ) -> None:
        order = new_order(client, reseller, products=[{"id": i, "amount": 5} for i in range(101)][:100])
        products = [{"id": i, "amount": 1} for i in range(lines)]
        response = post(client, reseller, ticket_body(order, reason="missing", products=products))
        assert ("products", code) in refused(response)
        assert count(db, Ticket) == 0

    def test_a_hundred_lines_are_fine(self, client: httpx.Client, reseller: Reseller) -> None:
        order = new_order(client, reseller, products=[{"id": i, "amount": 5} for i in range(100)])
        products = [{"id": i, "amount": 1} for i in range(100)]
        ticket = new_ticket(client, reseller, order, reason="missing", products=products)
        assert len(ticket["products"]) == 100

    def test_product_not_in_order(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        other_order = new_order(client, reseller, products=[{"id": 99, "amount": 5}])
        products = [{"id": 17, "amount": 1}, {"id": 99, "amount": 1}, {"id": "FLYER", "amount": 1}]
        response = post(client, reseller, ticket_body(order, reason="missing", products=products))
        assert refused(response) == [
            ("products.1.id", "product_not_in_order"),
            ("products.2.id", "product_not_in_order"),
        ]
        assert other_order["products"][0]["id"] == 99
        assert count(db, Ticket) == 0

    def test_duplicate_product_at_the_repeat(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        products = [{"id": 17, "amount": 1}, {"id": "flyer", "amount": 1}, {"id": "17", "amount": 1}]
        response = post(client, reseller, ticket_body(order, reason="missing", products=products))
        assert refused(response) == [("products.2.id", "duplicate_product")]
        assert count(db, Ticket) == 0

    def test_number_and_string_name_the_same_product(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        ticket = new_ticket(client, reseller, order, reason="missing", products=[{"id": "17", "amount": 1}])
        assert ticket["products"][0]["id"] == 17  # shown as registered
        string_order = new_order(client, reseller, products=[{"id": "42", "amount": 2}])
        ticket = new_ticket(client, reseller, string_order, reason="missing", products=[{"id": 42, "amount": 1}])
        assert ticket["products"][0]["id"] == "42"

    @pytest.mark.parametrize("amount", [0, -3])
    def test_amount_at_least_one(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], amount: int
    ) -> None:
        response = post(client, reseller, ticket_body(order, products=[{"id": 17, "amount": amount, "files": [PHOTO]}]))
        assert refused(response) == [("products.0.amount", "out_of_range")]


class TestAmounts:
    def test_one_ticket_over_the_order(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]) -> None:
        response = post(client, reseller, ticket_body(order, products=[{"id": 17, "amount": 4, "files": [PHOTO]}]))
        assert refused(response) == [("products.0.amount", "amount_exceeds_order")]
        assert "Only 3 " in message_at(response, "products.0.amount")

    def test_across_tickets(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        new_ticket(client, reseller, order, products=[{"id": 17, "amount": 2, "files": [PHOTO]}])
        body = ticket_body(order, reason="missing", products=[{"id": 17, "amount": 2}])
        response = post(client, reseller, body)
        assert refused(response) == [("products.0.amount", "amount_exceeds_order")]
        assert "Only 1 " in message_at(response, "products.0.amount")
        assert count(db, Ticket) == 1
        # The one item left can be claimed.
        new_ticket(client, reseller, order, reason="missing", products=[{"id": 17, "amount": 1}])

    def test_solved_tickets_still_count(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        first = new_ticket(client, reseller, order, products=[{"id": 17, "amount": 3, "files": [PHOTO]}])
        mark_solved(db, first["id"])
        response = post(client, reseller, ticket_body(order, products=[{"id": 17, "amount": 1, "files": [PHOTO]}]))
        assert refused(response) == [("products.0.amount", "amount_exceeds_order")]
        assert "Only 0 " in message_at(response, "products.0.amount")

    def test_rejected_tickets_give_their_items_back(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        first = new_ticket(client, reseller, order, products=[{"id": 17, "amount": 3, "files": [PHOTO]}])
        mark_solved(db, first["id"], outcome="rejected")
        new_ticket(client, reseller, order, products=[{"id": 17, "amount": 3, "files": [PHOTO]}])


class TestOrderId:
    def test_order_not_found(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        response = post(client, reseller, ticket_body(order, order_id="no-such-order"))
        assert refused(response) == [("order_id", "order_not_found")]
        assert count(db, Ticket) == 0

    @pytest.mark.parametrize("as_string", [False, True])
    def test_supplier_order_number_given(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], as_string: bool
    ) -> None:
        number = order["supplier_order_number"]
        response = post(client, reseller, ticket_body(order, order_id=str(number) if as_string else number))
        problems = refused(response)
        assert [p for p in problems if p[0] == "order_id"] == [("order_id", "supplier_order_number_given")]
        assert order["id"] in message_at(response, "order_id")

    def test_supplier_order_number_is_the_only_error_there(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        body = ticket_body(order, order_id=order["supplier_order_number"], contact_email="nope")
        assert refused(post(client, reseller, body)) == [
            ("order_id", "supplier_order_number_given"),
            ("contact_email", "invalid_email"),
        ]

    def test_own_id_wins_over_a_supplier_order_number(self, client: httpx.Client, reseller: Reseller) -> None:
        first = new_order(client, reseller)
        # An order whose own id happens to be the other order's supplier_order_number.
        second = new_order(client, reseller, id=str(first["supplier_order_number"]))
        ticket = new_ticket(client, reseller, second, order_id=first["supplier_order_number"])
        assert ticket["order_id"] == second["id"]


class TestContactEmail:
    @pytest.mark.parametrize(
        "email", ["end.customer@example.org", "End.Customer@EXAMPLE.org", "END.CUSTOMER@example.ORG"]
    )
    def test_customer_email_given(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], email: str, db: Database
    ) -> None:
        response = post(client, reseller, ticket_body(order, contact_email=email))
        assert refused(response) == [("contact_email", "customer_email_given")]
        assert count(db, Ticket) == 0

    @pytest.mark.parametrize("email", ["support", "support@", "@reseller.example", "a b@reseller.example", "x@y"])
    def test_invalid_email(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], email: str) -> None:
        assert refused(post(client, reseller, ticket_body(order, contact_email=email))) == [
            ("contact_email", "invalid_email")
        ]

    def test_orders_without_customer_email(self, client: httpx.Client, reseller: Reseller) -> None:
        order = new_order(client, reseller, customer_email=None)
        assert new_ticket(client, reseller, order, contact_email="end.customer@example.org")


class TestText:
    @pytest.mark.parametrize(
        ("field", "value", "code"),
        [
            ("description", "x" * 5001, "too_long"),
            ("description", "", "too_short"),
            ("id", "", "too_short"),
            ("id", "x" * 65, "too_long"),
            ("id", "a\x00b", "invalid_text"),
            ("id", "a\nb", "invalid_text"),
            ("description", "torn\x00", "invalid_text"),
            ("description", "torn\x1b[31m", "invalid_text"),
            ("description", "torn\x7f", "invalid_text"),
            ("order_id", "a\x01", "invalid_text"),
        ],
    )
    def test_text_rules(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], field: str, value: str, code: str
    ) -> None:
        response = post(client, reseller, ticket_body(order, **{field: value}))
        assert refused(response) == [(field, code)]

    def test_description_keeps_lines_and_tabs(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        text = "Line one\r\n\tLine two: ünïcödé ✓ 🎉"
        assert new_ticket(client, reseller, order, description=text)["description"] == text

    @pytest.mark.parametrize("field", ["description", "id"])
    def test_lone_surrogate_sent_raw(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], field: str, db: Database
    ) -> None:
        body = ticket_body(order, **{field: "SURROGATE"})
        raw = json.dumps(body).replace('"SURROGATE"', '"torn \\ud800 banner"').encode()
        response = client.post(
            "/tickets", content=raw, headers={**reseller.headers, "Content-Type": "application/json"}
        )
        assert refused(response) == [(field, "invalid_text")]
        assert count(db, Ticket) == 0


class TestUnknownFields:
    def test_solution_suggests_suggested_solution(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        body = ticket_body(order)
        body["solution"] = body.pop("suggested_solution")
        response = post(client, reseller, body)
        assert sorted(refused(response)) == [("solution", "unknown_field"), ("suggested_solution", "required")]
        assert "suggested_solution" in message_at(response, "solution")

    def test_inside_product_lines_and_files(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        products = [{"id": 17, "amout": 1, "amount": 1, "files": [{"uri": PHOTO["uri"], "url": "x"}]}]
        response = post(client, reseller, ticket_body(order, products=products))
        assert sorted(refused(response)) == [
            ("products.0.amout", "unknown_field"),
            ("products.0.files.0.url", "unknown_field"),
        ]
        assert "'amount'" in message_at(response, "products.0.amout")
        assert "'uri'" in message_at(response, "products.0.files.0.url")

    def test_no_suggestion_for_a_far_name(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        response = post(client, reseller, ticket_body(order, zzzz=1))
        assert refused(response) == [("zzzz", "unknown_field")]
        assert "did you mean" not in message_at(response, "zzzz")


class TestTypes:
    @pytest.mark.parametrize("field", [*REQUIRED, "description"])
    def test_null_is_invalid_type(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], field: str
    ) -> None:
        response = post(client, reseller, ticket_body(order, **{field: None}))
        if field == "description":  # optional: null means none
            assert response.status_code == 201, response.text
            return
        assert refused(response) == [(field, "invalid_type")]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("id", 77),
            ("id", ["x"]),
            ("description", 5),
            ("reason", 1),
            ("reason", ["damaged"]),
            ("suggested_solution", {"value": "rework"}),
            ("contact_email", ["support@reseller.example"]),
            ("products", {"id": 17, "amount": 1}),
            ("products", "17"),
            ("order_id", 1.5),
            ("order_id", True),
            ("order_id", {"id": "x"}),
        ],
    )
    def test_wrong_types(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], field: str, value: Any
    ) -> None:
        response = post(client, reseller, ticket_body(order, **{field: value}))
        assert refused(response) == [(field, "invalid_type")]

    @pytest.mark.parametrize(
        ("line", "loc", "code"),
        [
            ({"id": 17, "amount": True}, "products.0.amount", "invalid_type"),
            ({"id": True, "amount": 1}, "products.0.id", "invalid_type"),
            ({"id": 17, "amount": 1.0}, "products.0.amount", "invalid_type"),
            ({"id": 17, "amount": "1"}, "products.0.amount", "invalid_type"),
            ({"id": 17, "amount": None}, "products.0.amount", "invalid_type"),
            ({"id": None, "amount": 1}, "products.0.id", "invalid_type"),
            ({"id": 17.5, "amount": 1}, "products.0.id", "invalid_type"),
            ({"id": 17, "amount": 10**30}, "products.0.amount", "out_of_range"),
            ({"id": 17, "amount": 2**31}, "products.0.amount", "out_of_range"),
            ({"id": 10**30, "amount": 1}, "products.0.id", "out_of_range"),
            ({"id": 17, "amount": 1, "files": None}, "products.0.files", "files_required"),
            ({"id": 17, "amount": 1, "files": "x"}, "products.0.files", "invalid_type"),
            ({"id": 17, "amount": 1, "files": ["https://93.184.215.14/1.jpg"]}, "products.0.files.0", "invalid_type"),
            ({"id": 17, "amount": 1, "files": [{"uri": 5}]}, "products.0.files.0.uri", "invalid_type"),
        ],
    )
    def test_product_line_types(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], line: dict[str, Any], loc: str, code: str
    ) -> None:
        response = post(client, reseller, ticket_body(order, products=[line]))
        problems = refused(response)
        assert (loc, code) in problems
        assert all(p[0].startswith(loc.rsplit(".", 1)[0]) for p in problems), problems

    def test_line_that_is_no_object(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]) -> None:
        response = post(client, reseller, ticket_body(order, reason="missing", products=[17, None]))
        assert refused(response) == [("products.0", "invalid_type"), ("products.1", "invalid_type")]

    def test_every_mistake_at_once(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]) -> None:
        body = {
            "order_id": order["id"],
            "id": "",
            "description": "x" * 5001,
            "reason": "broken",
            "suggested_solution": "refund",
            "contact_email": "end.customer@example.org",
            "products": [
                {"id": 17, "amount": 9},
                {"id": 404, "amount": 1},
                {"id": "17", "amount": 1, "files": [{"uri": "ftp://x/y"}]},
            ],
            "solution": "rework",
        }
        assert refused(post(client, reseller, body)) == [
            ("id", "too_short"),
            ("description", "too_long"),
            ("reason", "invalid_choice"),
            ("suggested_solution", "invalid_choice"),
            ("contact_email", "customer_email_given"),
            ("products.0.amount", "amount_exceeds_order"),
            ("products.1.id", "product_not_in_order"),
            ("products.2.files.0.uri", "invalid_uri"),
            ("products.2.id", "duplicate_product"),
            ("solution", "unknown_field"),
        ]


class TestGrouping:
    def test_same_reason_and_product_in_an_unsolved_ticket(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        first = new_ticket(client, reseller, order, products=[{"id": 17, "amount": 1, "files": [PHOTO]}])
        body = ticket_body(
            order,
            products=[
                {"id": "flyer", "amount": 1, "files": [PHOTO]},
                {"id": 17, "amount": 1, "files": [PHOTO]},
            ],
        )
        response = post(client, reseller, body)
        assert response.status_code == 409, response.text
        assert first["id"] in response.json()["error"]
        assert response.json()["ticket"]["id"] == first["id"]
        assert [(e["loc"], e["code"]) for e in response.json()["errors"]] == [("products.1.id", "ticket_exists")]
        assert count(db, Ticket) == 1
        # The validate endpoint gives the same answer.
        again = client.post("/tickets/validate", json=body, headers=reseller.headers)
        assert (again.status_code, again.json()) == (409, response.json())

    def test_the_oldest_unsolved_ticket_is_named(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        oldest = new_ticket(client, reseller, order, products=[{"id": "flyer", "amount": 1, "files": [PHOTO]}])
        new_ticket(client, reseller, order, products=[{"id": 17, "amount": 1, "files": [PHOTO]}])
        body = ticket_body(
            order,
            products=[
                {"id": 17, "amount": 1, "files": [PHOTO]},
                {"id": "flyer", "amount": 1, "files": [PHOTO]},
            ],
        )
        response = post(client, reseller, body)
        assert response.status_code == 409, response.text
        assert response.json()["ticket"]["id"] == oldest["id"]
        assert [(e["loc"], e["code"]) for e in response.json()["errors"]] == [("products.1.id", "ticket_exists")]

    def test_a_different_reason_is_fine(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]) -> None:
        new_ticket(client, reseller, order, products=[{"id": 17, "amount": 1, "files": [PHOTO]}])
        new_ticket(client, reseller, order, reason="missing", products=[{"id": 17, "amount": 1}])

    def test_same_reason_on_another_product_is_fine(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        new_ticket(client, reseller, order, products=[{"id": 17, "amount": 1, "files": [PHOTO]}])
        new_ticket(client, reseller, order, products=[{"id": "flyer", "amount": 1, "files": [PHOTO]}])

    def test_once_solved_the_reason_can_come_again(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        first = new_ticket(client, reseller, order, products=[{"id": 17, "amount": 1, "files": [PHOTO]}])
        mark_solved(db, first["id"])
        new_ticket(client, reseller, order, products=[{"id": 17, "amount": 1, "files": [PHOTO]}])

    def test_validation_errors_come_before_grouping(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        new_ticket(client, reseller, order, products=[{"id": 17, "amount": 1, "files": [PHOTO]}])
        body = ticket_body(order, contact_email="bad", products=[{"id": 17, "amount": 1, "files": [PHOTO]}])
        assert refused(post(client, reseller, body)) == [("contact_email", "invalid_email")]


def raw_post(client: httpx.Client, reseller: Reseller, raw: bytes, path: str = "/tickets") -> httpx.Response:
    return client.post(path, content=raw, headers={**reseller.headers, "Content-Type": "application/json"})


class TestIdempotency:
    def test_same_body_answers_200_without_a_second_ticket_or_event(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        body = ticket_body(order)
        first = raw_post(client, reseller, json.dumps(body).encode())
        assert first.status_code == 201, first.text
        before = stored(db)
        # The same JSON with its keys in another order and other spacing.
        reordered = dict(reversed(list(body.items())))
        reordered["products"] = [dict(reversed(list(line.items()))) for line in body["products"]]
        raw = json.dumps(reordered, indent=4, separators=(" ,  ", " :\t")).encode()
        again = raw_post(client, reseller, raw)
        assert again.status_code == 200, again.text
        answer = again.json()
        assert answer["status"] == "open"
        assert answer["message"] == "Ticket already received"
        assert answer["ticket"] == first.json()["ticket"]
        assert stored(db) == before
        assert count(db, Ticket) == 1
        assert count(db, Event) == 1

    def test_a_different_body_is_409(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        body = ticket_body(order)
        new_ticket(client, reseller, order, **body)
        response = post(client, reseller, {**body, "description": "Something else"})
        assert response.status_code == 409, response.text
        assert body["id"] in response.json()["error"]
        assert (count(db, Ticket), count(db, Event)) == (1, 1)

    def test_ids_are_per_account(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        new_ticket(client, reseller, order, id="complaint-77")
        other = new_reseller(db)
        new_ticket(client, other, new_order(client, other), id="complaint-77")

    @pytest.mark.parametrize(
        "mistake",
        [
            {"contact_email": "end.customer@example.org"},
            {"reason": "broken"},
            {"order_id": "nope"},
            {"products": [{"id": 17, "amount": 99, "files": [PHOTO]}]},
        ],
    )
    def test_a_refused_request_does_not_use_up_its_id(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], mistake: dict[str, Any]
    ) -> None:
        body = ticket_body(order)
        assert post(client, reseller, {**body, **mistake}).status_code == 422
        response = post(client, reseller, body)
        assert response.status_code == 201, response.text

    def test_a_grouping_conflict_does_not_use_up_its_id(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        new_ticket(client, reseller, order, products=[{"id": 17, "amount": 1, "files": [PHOTO]}])
        body = ticket_body(order, products=[{"id": 17, "amount": 1, "files": [PHOTO]}])
        assert post(client, reseller, body).status_code == 409
        response = post(client, reseller, {**body, "reason": "missing"})
        assert response.status_code == 201, response.text

    def test_retry_after_the_order_line_is_used_up(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        """A retry of a stored ticket is a retry, not a new claim on the line it used up."""
        body = ticket_body(order, products=[{"id": 17, "amount": 3, "files": [PHOTO]}])
        assert post(client, reseller, body).status_code == 201
        assert post(client, reseller, body).status_code == 200


class TestValidate:
    def test_valid_body_stores_nothing(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        response = client.post("/tickets/validate", json=ticket_body(order), headers=reseller.headers)
        assert (response.status_code, response.json()) == (200, {"valid": True})
        assert stored(db) == (0, 0, 0, 0)

    def test_anonymous_is_401(self, client: httpx.Client, order: dict[str, Any]) -> None:
        assert client.post("/tickets/validate", json=ticket_body(order)).status_code == 401

    def test_same_422_as_post(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        body = ticket_body(order, contact_email="End.Customer@example.org", products=[{"id": 17, "amount": 9}])
        checked = client.post("/tickets/validate", json=body, headers=reseller.headers)
        filed = post(client, reseller, body)
        assert checked.status_code == filed.status_code == 422
        assert checked.json() == filed.json()
        assert stored(db) == (0, 0, 0, 0)

    def test_validate_does_not_use_up_the_id(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        body = ticket_body(order)
        assert client.post("/tickets/validate", json=body, headers=reseller.headers).status_code == 200
        assert post(client, reseller, body).status_code == 201
        # After filing, the same body is still valid (a harmless retry); another body with that id is not.
        assert client.post("/tickets/validate", json=body, headers=reseller.headers).status_code == 200
        changed = client.post("/tickets/validate", json={**body, "description": "x"}, headers=reseller.headers)
        assert changed.status_code == 409
