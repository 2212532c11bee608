"""The client's models against the live server, so the two cannot drift apart:

- every field of every real answer (a ticket with history, messages, a resolution and a reopen; an order
  status; events; webhooks; the catalogue; the account) is a declared field of its model, at every level;
- what the server's ``/openapi.json`` documents (request bodies, and response schemas where it has them)
  is known to the models, and everything the client sends is a field the server accepts.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from claimdesk.db import Database
from claimdesk_client import (
    Account,
    Event,
    Order,
    Reason,
    Solution,
    Ticket,
    TicketProduct,
    Webhook,
)
from claimdesk_client import (
    EvidenceFile as ClientFile,
)
from claimdesk_client import _importer as importer
from tests.factories import Reseller, new_staff, new_ticket, ticket_body


def undeclared(value: Any, path: str = "") -> list[str]:
    """The paths of answer fields that no model declares (kept in ``model_extra``)."""
    if isinstance(value, BaseModel):
        found = [f"{path}.{name}".lstrip(".") for name in value.model_extra or {}]
        for name in type(value).model_fields:
            found += undeclared(getattr(value, name), f"{path}.{name}")
        return found
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in undeclared(item, f"{path}.{i}")]
    return []


def worked_ticket(client: httpx.Client, db: Database, reseller: Reseller, order: dict[str, Any]) -> dict[str, Any]:
    """A ticket that went through everything a reseller can see: a reply, solved, reopened, a staff message."""
    ticket = new_ticket(client, reseller, order)
    staff = new_staff(db)
    reply = client.post(f"/tickets/{ticket['id']}/messages", json={"body": "Photo two."}, headers=reseller.headers)
    assert reply.status_code == 201, reply.text
    number = ticket["number"]
    for change in (
        {
            "status": "solved",
            "message": "Reprinted.",
            "resolution": {"outcome": "rework", "note": "Torn.", "products": [{"id": 17, "granted": 2}]},
        },
        {"status": "pending", "message": "Reopened."},
    ):
        moved = client.post(f"/staff/tickets/{number}/status", json=change, headers=staff.headers)
        assert moved.status_code == 200, moved.text
    solved = new_ticket(client, reseller, order, reason="delayed", products=[{"id": 17, "amount": 1}])
    client.post(
        f"/staff/tickets/{solved['number']}/status",
        json={"status": "solved", "resolution": {"outcome": "credit", "note": "Late."}},
        headers=staff.headers,
    ).raise_for_status()
    return client.get(f"/tickets/{ticket['id']}", headers=reseller.headers).json()  # type: ignore[no-any-return]


class TestLiveAnswers:
    def test_every_field_of_a_worked_ticket_is_declared(
        self, client: httpx.Client, db: Database, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        raw = worked_ticket(client, db, reseller, order)
        ticket = Ticket.model_validate(raw)
        assert [h.action for h in ticket.history] == ["created", "status_changed", "status_changed"]
        assert ticket.history[2].from_ == "solved"
        assert ticket.history[2].previous_resolution is not None
        assert [(g.id, g.granted) for g in ticket.history[2].previous_resolution.products] == [(17, 2)]
        assert undeclared(ticket) == []
        listed = client.get("/tickets", headers=reseller.headers).json()["tickets"]
        solved = Ticket.model_validate(next(t for t in listed if t["status"] == "solved"))
        assert solved.resolution is not None
        assert solved.resolution.outcome == "credit"
        assert undeclared(solved) == []

    def test_orders_events_webhooks_catalogue_account(
        self, client: httpx.Client, db: Database, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        worked_ticket(client, db, reseller, order)
        status = client.post("/order/status", json={"orders": [{"id": order["id"]}]}, headers=reseller.headers)
        models: list[BaseModel] = [Order.model_validate(o) for o in status.json()["orders"]]
        created = client.post("/order", json={"id": "plain", "products": [{"amount": 1}]}, headers=reseller.headers)
        models.append(Order.model_validate(created.json()["order"]))
        events = client.get("/events", headers=reseller.headers).json()["events"]
        assert {e["type"] for e in events} >= {"ticket.created", "ticket.status_changed", "ticket.message_added"}
        models += [Event.model_validate(e) for e in events]
        hook = client.post(
            "/webhooks",
            json={"url": "https://93.184.215.14/hook", "events": ["ticket.created"]},
            headers=reseller.headers,
        )
        assert hook.status_code == 201, hook.text
        models.append(Webhook.model_validate(hook.json()))
        models += [
            Webhook.model_validate(w) for w in client.get("/webhooks", headers=reseller.headers).json()["webhooks"]
        ]
        models += [Reason.model_validate(r) for r in client.get("/reasons", headers=reseller.headers).json()["reasons"]]
        models += [
            Solution.model_validate(s) for s in client.get("/solutions", headers=reseller.headers).json()["solutions"]
        ]
        models.append(Account.model_validate(client.get("/account", headers=reseller.headers).json()))
        extras = sorted({p for m in models for p in undeclared(m, type(m).__name__)})
        assert extras == [], extras


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    for key in ("allOf", "anyOf", "oneOf"):
        for option in schema.get(key, []):
            resolved = resolve(spec, option)
            if resolved.get("properties"):
                return resolved
    return schema


def request_schema(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    body = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return resolve(spec, body)


def items(spec: dict[str, Any], schema: dict[str, Any], name: str) -> dict[str, Any]:
    prop = resolve(spec, schema["properties"][name])
    if prop.get("type") != "array":
        prop = next(resolve(spec, o) for o in prop.get("anyOf", []) if resolve(spec, o).get("type") == "array")
    return resolve(spec, prop["items"])


# Which model reads each answer the client uses: (method, path, status, key in the answer or None, model).
ANSWERS: list[tuple[str, str, str, str | None, type[BaseModel]]] = [
    ("post", "/tickets", "201", "ticket", Ticket),
    ("get", "/tickets/{ticket_id}", "200", None, Ticket),
    ("post", "/tickets/{ticket_id}/messages", "201", None, Ticket),
    ("post", "/order", "201", "order", Order),
    ("get", "/account", "200", None, Account),
    ("post", "/webhooks", "201", None, Webhook),
]


class TestOpenAPI:
    @pytest.fixture
    def spec(self, client: httpx.Client) -> dict[str, Any]:
        spec: dict[str, Any] = client.get("/openapi.json").json()
        return spec

    def test_what_the_client_sends_is_what_the_server_takes(self, spec: dict[str, Any]) -> None:
        ticket = request_schema(spec, "post", "/tickets")
        rows = [
            importer.Row(2, "o-1", "17", 2, "damaged", "rework", "Torn", ("https://x.example/1.jpg",), "a@b.example")
        ]
        plans, problems = importer.plan_tickets(rows)
        assert problems == []
        body = plans[0].body
        assert set(body) <= set(ticket["properties"])
        line_schema = items(spec, ticket, "products")
        assert set(body["products"][0]) <= set(line_schema["properties"])
        assert set(body["products"][0]["files"][0]) <= set(items(spec, line_schema, "files")["properties"])
        message = request_schema(spec, "post", "/tickets/{ticket_id}/messages")
        assert {"body", "files"} <= set(message["properties"])
        status = request_schema(spec, "post", "/order/status")
        assert "orders" in status["properties"]

    def test_what_the_server_takes_comes_back_in_the_models(self, spec: dict[str, Any]) -> None:
        ticket_in = request_schema(spec, "post", "/tickets")
        assert set(ticket_in["properties"]) <= set(Ticket.model_fields)
        assert set(items(spec, ticket_in, "products")["properties"]) <= set(TicketProduct.model_fields)
        line_in = items(spec, ticket_in, "products")
        assert set(items(spec, line_in, "files")["properties"]) <= set(ClientFile.model_fields)
        order_in = request_schema(spec, "post", "/order")
        assert set(order_in["properties"]) <= set(Order.model_fields)

    @pytest.mark.parametrize(("method", "path", "status", "key", "model"), ANSWERS)
    def test_documented_answers_are_known_to_the_models(
        self, spec: dict[str, Any], method: str, path: str, status: str, key: str | None, model: type[BaseModel]
    ) -> None:
        """Where the server documents an answer's schema, each of its fields is declared by the model."""
        operation = spec["paths"][path][method]
        assert status in operation["responses"], f"{method} {path} no longer answers {status}"
        content = operation["responses"][status].get("content", {}).get("application/json", {})
        schema = resolve(spec, content.get("schema", {}))
        if key is not None and key in schema.get("properties", {}):
            schema = resolve(spec, schema["properties"][key])
        documented = set(schema.get("properties", {}))
        assert documented <= set(model.model_fields) | {f.alias for f in model.model_fields.values() if f.alias}


def test_a_ticket_answer_round_trips(client: httpx.Client, reseller: Reseller, order: dict[str, Any]) -> None:
    raw = client.post("/tickets", json=ticket_body(order), headers=reseller.headers).json()["ticket"]
    assert Ticket.model_validate(raw).model_dump(mode="json", by_alias=True, exclude_unset=True) == raw
