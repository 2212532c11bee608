"""Bodies that are not what they should be: a clear error in the contract's shape, never a 500, nothing stored."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from claimdesk.db import Database
from claimdesk.models import Event, Order, Ticket
from tests.api.expect import problems
from tests.factories import Reseller, new_order, new_reseller, ticket_body

MIB = 1024 * 1024
ENDPOINTS = ["/tickets", "/tickets/validate", "/order", "/order/status"]


@pytest.fixture
def reseller(db: Database) -> Reseller:
    return new_reseller(db)


def nothing_stored(db: Database, orders: int = 0) -> None:
    with db.session() as session:
        for model, expected in ((Ticket, 0), (Event, 0), (Order, orders)):
            assert session.scalar(sa.select(sa.func.count()).select_from(model)) == expected, model


def send(
    client: httpx.Client, reseller: Reseller, path: str, raw: bytes, content_type: str = "application/json"
) -> httpx.Response:
    return client.post(path, content=raw, headers={**reseller.headers, "Content-Type": content_type})


class TestBadBodies:
    @pytest.mark.parametrize("path", ENDPOINTS)
    @pytest.mark.parametrize(
        "raw",
        [
            b"{",
            b'{"id": }',
            b"{'id': 'x'}",
            b"",
            b"   ",
            b'{"a": 1} trailing',
            b"\xff\xfe{",
            b'{"a": "\xc3"}',
            b"nul\x00l",
        ],
    )
    def test_broken_json_is_400(
        self, client: httpx.Client, reseller: Reseller, db: Database, path: str, raw: bytes
    ) -> None:
        response = send(client, reseller, path, raw)
        assert response.status_code == 400, response.text
        assert problems(response) == []
        nothing_stored(db)

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_nan_is_400(self, client: httpx.Client, reseller: Reseller, db: Database, constant: str) -> None:
        order = new_order(client, reseller)
        raw = json.dumps(ticket_body(order)).replace('"amount": 2', f'"amount": {constant}').encode()
        response = send(client, reseller, "/tickets", raw)
        assert response.status_code == 400, response.text
        nothing_stored(db, orders=1)

    def test_huge_exponent_is_a_type_error(self, client: httpx.Client, reseller: Reseller, db: Database) -> None:
        order = new_order(client, reseller)
        raw = json.dumps(ticket_body(order)).replace('"amount": 2', '"amount": 1e400').encode()
        response = send(client, reseller, "/tickets", raw)
        assert response.status_code == 422, response.text
        assert problems(response) == [("products.0.amount", "invalid_type")]
        nothing_stored(db, orders=1)

    @pytest.mark.parametrize("path", ENDPOINTS)
    @pytest.mark.parametrize(
        ("content_type", "raw"),
        [
            ("application/x-www-form-urlencoded", b"id=x&reason=damaged"),
            (
                "multipart/form-data; boundary=x",
                b"--x\r\nContent-Disposition: form-data; name=id\r\n\r\nx\r\n--x--\r\n",
            ),
            ("text/plain", b'{"id": "x"}'),
            ("", b'{"id": "x"}'),
            ("application/xml", b"<id>x</id>"),
        ],
    )
    def test_not_json_is_415(
        self, client: httpx.Client, reseller: Reseller, db: Database, path: str, content_type: str, raw: bytes
    ) -> None:
        headers = {**reseller.headers, "Content-Type": content_type}
        response = client.post(path, content=raw, headers=headers)
        assert response.status_code == 415, response.text
        assert response.json()["error"]
        nothing_stored(db)

    def test_form_helper_is_415(self, client: httpx.Client, reseller: Reseller) -> None:
        assert client.post("/tickets", data={"id": "x"}, headers=reseller.headers).status_code == 415

    def test_json_with_charset_and_suffix_types_are_json(self, client: httpx.Client, reseller: Reseller) -> None:
        for content_type in ("application/json; charset=utf-8", "application/merge-patch+json", "Application/JSON"):
            response = send(client, reseller, "/tickets/validate", b"{}", content_type)
            assert response.status_code == 422, (content_type, response.text)

    @pytest.mark.parametrize("path", ENDPOINTS)
    def test_over_one_mib_is_413(self, client: httpx.Client, reseller: Reseller, db: Database, path: str) -> None:
        order = new_order(client, reseller) if path == "/tickets" else None
        body: dict[str, Any] = ticket_body(order) if order else {"id": "x"}
        body["description"] = "x" * MIB
        response = send(client, reseller, path, json.dumps(body).encode())
        assert response.status_code == 413, response.text
        assert response.json()["error"]
        nothing_stored(db, orders=1 if order else 0)

    def test_just_one_mib_is_read(self, client: httpx.Client, reseller: Reseller) -> None:
        raw = b'{"pad": "' + b"x" * (MIB - 11) + b'"}'
        assert len(raw) == MIB
        response = send(client, reseller, "/tickets/validate", raw)
        assert response.status_code == 422, response.text[:200]
        assert ("pad", "unknown_field") in problems(response)

    def test_over_one_mib_without_content_length_is_413(
        self, client: httpx.Client, reseller: Reseller, db: Database
    ) -> None:
        def chunks() -> Any:
            yield b'{"description": "'
            for _ in range(20):
                yield b"x" * 65536
            yield b'"}'

        response = client.post(
            "/tickets", content=chunks(), headers={**reseller.headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 413, response.text
        nothing_stored(db)

    @pytest.mark.parametrize("path", ENDPOINTS)
    @pytest.mark.parametrize("value", [[], [{"id": "x"}], "ticket", 17, True, None])
    def test_a_body_that_is_no_object_is_422(
        self, client: httpx.Client, reseller: Reseller, db: Database, path: str, value: Any
    ) -> None:
        response = send(client, reseller, path, json.dumps(value).encode())
        assert response.status_code == 422, response.text
        assert problems(response) == [("body", "invalid_type")]
        nothing_stored(db)

    @pytest.mark.parametrize("path", ENDPOINTS)
    @pytest.mark.parametrize("depth", [33, 50, 900, 5_000, 200_000])
    def test_deeply_nested_json_is_400(
        self, client: httpx.Client, reseller: Reseller, db: Database, path: str, depth: int
    ) -> None:
        nested = "[" * depth + "]" * depth
        for raw in (nested, '{"id": ' + nested[1:-1] + "}", '{"zzz": ' + nested[1:-1] + "}"):
            response = send(client, reseller, path, raw.encode())
            assert response.status_code == 400, (path, depth, response.status_code, response.text[:300])
            assert response.json()["error"].startswith(("The body is nested deeper than 32", "The body is not valid"))
        nothing_stored(db)

    def test_nesting_up_to_the_limit_reaches_validation(
        self, client: httpx.Client, reseller: Reseller, db: Database
    ) -> None:
        order = new_order(client, reseller)
        body = ticket_body(order)
        # The ticket object is level 1, so an array 31 deep in it makes 32: the limit, still read.
        raw = json.dumps(body)[:-1] + ', "extra": ' + "[" * 31 + "]" * 31 + "}"
        response = send(client, reseller, "/tickets", raw.encode())
        assert response.status_code == 422, response.text[:300]
        assert problems(response) == [("extra", "unknown_field")]
        # One level more is refused whole, before validation.
        raw = json.dumps(body)[:-1] + ', "extra": ' + "[" * 32 + "]" * 32 + "}"
        response = send(client, reseller, "/tickets", raw.encode())
        assert response.status_code == 400, response.text[:300]
        assert response.json() == {"error": "The body is nested deeper than 32 levels of arrays and objects."}
        nothing_stored(db, orders=1)

    def test_many_brackets_in_strings_are_no_nesting(self, client: httpx.Client, reseller: Reseller) -> None:
        order = new_order(client, reseller)
        body = ticket_body(order) | {"description": "[{" * 200}
        response = send(client, reseller, "/tickets", json.dumps(body).encode())
        assert response.status_code == 201, response.text[:300]

    def test_duplicate_keys_take_the_last(self, client: httpx.Client, reseller: Reseller) -> None:
        order = new_order(client, reseller)
        raw = json.dumps(ticket_body(order))[:-1] + ', "reason": "broken"}'
        response = send(client, reseller, "/tickets/validate", raw.encode())
        assert problems(response) == [("reason", "invalid_choice")]

    def test_unknown_path_and_method_are_json(self, client: httpx.Client, reseller: Reseller) -> None:
        missing = client.get("/nope", headers=reseller.headers)
        assert (missing.status_code, missing.json()) == (404, {"error": "Not found."})
        wrong = client.delete("/tickets", headers=reseller.headers)
        assert wrong.status_code == 405
        assert wrong.json()["error"]
