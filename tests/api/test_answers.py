"""The answers the presenters build are the ones /openapi.json documents.

A walk through every operation (a reseller files, replies, uploads, hooks; staff work the ticket through to
solved and back), each answer checked against its operation's documented status and schema. The schemas are
pydantic models used only for the document (``claimdesk.api.answers``); this keeps them and the dicts equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.models import EvidenceFile, Job
from claimdesk.testing.server import ThreadedServer
from tests.factories import new_order, new_reseller, new_staff, order_body, ticket_body
from tests.files.fileserver import PNG
from tests.webhooks.support import Receiver, drain, running_receiver

from .conformance import Conformance


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_private_urls": True, "retry_base_seconds": 0.001})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def conformance(server: ThreadedServer) -> Conformance:
    return Conformance(httpx.get(f"{server.url}/openapi.json").json())


@pytest.fixture
def checked(server: ThreadedServer, conformance: Conformance) -> Iterator[httpx.Client]:
    """A client whose every answer is checked against the document."""
    with httpx.Client(base_url=server.url, timeout=30, event_hooks={"response": [conformance.hook]}) as http:
        yield http


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def test_every_answer_matches_its_schema(
    checked: httpx.Client, conformance: Conformance, db: Database, settings: Settings, receiver: Receiver
) -> None:
    http = checked
    reseller = new_reseller(db)
    staff = new_staff(db)
    me, them = reseller.headers, staff.headers

    # Catalogue and account.
    ok(http.get("/reasons", headers=me))
    ok(http.get("/solutions", headers=me))
    ok(http.get("/account", headers=me))

    # Orders.
    order = ok(http.post("/order", json=order_body(callback_urls=[f"{receiver.url}/orders"]), headers=me), 201)["order"]
    ok(http.post("/order", json=order_body(id=order["id"]), headers=me), 409)
    ok(http.post("/order", json=order_body(products=[]), headers=me), 422)

    # Webhooks, before the ticket, so its events are delivered.
    hook = ok(
        http.post("/webhooks", json={"url": f"{receiver.url}/hooks", "events": ["ticket.created"]}, headers=me), 201
    )
    ok(http.get("/webhooks", headers=me))
    ok(http.get(f"/webhooks/{hook['id']}", headers=me))
    ok(http.post(f"/webhooks/{hook['id']}/rotate-secret", headers=me))
    ok(http.post(f"/webhooks/{hook['id']}/enable", headers=me))

    # Tickets: filed, filed again, refused, validated, read, listed.
    body = ticket_body(order)
    body["products"][0]["files"] = [{"uri": "https://93.184.215.14/photos/77-1.jpg"}]
    created = ok(http.post("/tickets", json=body, headers=me), 201)
    ticket = created["ticket"]
    ok(http.post("/tickets", json=body, headers=me))
    ok(http.post("/tickets", json={**body, "description": "other"}, headers=me), 409)
    second = ticket_body(order, id="second", products=[{**body["products"][0], "amount": 1}])
    ok(http.post("/tickets", json=second, headers=me), 409)  # ticket_exists, naming the ticket
    ok(http.post("/tickets", json={**body, "id": "third", "reason": "nope", "colour": 1}, headers=me), 422)
    ok(http.post("/tickets", content=b"{", headers={**me, "content-type": "application/json"}), 400)
    ok(http.post("/tickets", content=b"a=1", headers={**me, "content-type": "text/plain"}), 415)
    ok(http.post("/tickets", content=b" " * (1024 * 1024 + 1), headers={**me, "content-type": "application/json"}), 413)
    ok(http.post("/tickets", json=body), 401)
    ok(
        http.post(
            "/tickets/validate",
            json=ticket_body(order, reason="delayed", products=[{"id": "flyer", "amount": 1}]),
            headers=me,
        )
    )
    ok(http.get(f"/tickets/{ticket['id']}", headers=me))
    ok(http.get("/tickets/unknown", headers=me), 404)
    ok(http.get("/tickets", params={"limit": "1"}, headers=me))
    ok(http.get("/tickets", params={"limit": "0"}, headers=me), 422)

    # Replies and uploads: a stored file on a line and on a message, and a failed one.
    replied = ok(http.post(f"/tickets/{ticket['id']}/messages", json={"body": "One more photo."}, headers=me), 201)
    message_id = replied["messages"][-1]["id"]
    files = [("files", ("torn.png", PNG, "image/png"))]
    ok(http.post(f"/tickets/{ticket['id']}/files", files=files, data={"product": "17"}, headers=me), 201)
    ok(http.post(f"/tickets/{ticket['id']}/files", files=files, data={"message": str(message_id)}, headers=me), 201)
    bad = [("files", ("x.png", b"not an image", "image/png"))]
    ok(http.post(f"/tickets/{ticket['id']}/files", files=bad, data={"product": "17"}, headers=me), 422)
    with db.transaction() as session:  # the fetch of the URI failed (the worker is not running here)
        session.execute(
            sa.update(EvidenceFile).where(EvidenceFile.uri.is_not(None)).values(state="failed", error="unreachable")
        )
        session.execute(sa.delete(Job).where(Job.kind == "fetch_file"))
    view = ok(http.get(f"/tickets/{ticket['id']}", headers=me))
    states = {f["state"] for p in view["products"] for f in p["files"]}
    assert states == {"stored", "failed"}
    stored = next(f for p in view["products"] for f in p["files"] if f["state"] == "stored")
    http.get(stored["download_url"], headers=me)
    http.get(stored["thumbnail_url"], headers=me)
    http.get(f"/staff/files/{stored['id']}", headers=them)
    http.get(f"/staff/files/{stored['id']}/thumbnail", headers=them)

    # Orders' status, one found and one not.
    ok(http.post("/order/status", json={"orders": [{"id": order["id"]}, {"reference": "nothing"}]}, headers=me))

    # Staff: list, read, note, assign, move to solved with a resolution, reopen, refuse a move.
    number = ticket["number"]
    ok(http.get("/staff/tickets", headers=them))
    ok(http.get("/staff/tickets", headers=me), 403)
    ok(http.post(f"/staff/tickets/{number}/messages", json={"body": "Checked.", "internal": True}, headers=them), 201)
    ok(http.post(f"/staff/tickets/{number}/assign", json={"assignee": "me"}, headers=them))
    ok(http.post(f"/staff/tickets/{number}/assign", json={"assignee": 999999}, headers=them), 422)
    resolution = {"outcome": "rework", "note": "Printed again.", "products": [{"id": 17, "granted": 2}]}
    moved = {"status": "solved", "message": "Done.", "resolution": resolution}
    ok(http.post(f"/staff/tickets/{number}/status", json=moved, headers=them))
    ok(http.post(f"/staff/tickets/{number}/status", json={"status": "holding"}, headers=them), 409)
    ok(http.post(f"/tickets/{ticket['id']}/messages", json={"body": "Thanks"}, headers=me), 409)
    ok(http.post(f"/staff/tickets/{number}/status", json={"status": "pending"}, headers=them))
    staff_view = ok(http.get(f"/staff/tickets/{number}", headers=them))
    assert {h["action"] for h in staff_view["history"]} == {"created", "status_changed", "assigned"}
    assert any("previous_resolution" in h for h in staff_view["history"])
    ok(http.get("/staff/tickets/0", headers=them), 404)

    # Events and deliveries.
    ok(http.get("/events", headers=me))
    ok(http.get("/events", params={"since": "x"}, headers=me), 422)
    queued = ok(http.post(f"/webhooks/{hook['id']}/test", headers=me), 202)
    drain(db, settings)
    ok(http.get(f"/webhooks/{hook['id']}/deliveries", headers=me))
    deliveries = ok(http.get("/webhooks/deliveries", headers=me))["deliveries"]
    assert {d["kind"] for d in deliveries} >= {"endpoint", "callback", "test"}
    ok(http.post(f"/webhooks/deliveries/{queued['delivery']['id']}/redeliver", headers=me), 202)
    ok(http.delete(f"/webhooks/{hook['id']}", headers=me), 204)
    ok(http.get(f"/webhooks/{hook['id']}", headers=me), 404)

    # Every operation's success answer was checked.
    successes = {(op.id, int(s)) for op in conformance.operations for s in op.spec["responses"] if s.startswith("2")}
    assert successes - conformance.seen == set()
    assert len({operation_id for operation_id, _ in conformance.seen}) == len(conformance.operations)


def test_staff_and_reseller_views_are_the_documented_ones(server: ThreadedServer, db: Database) -> None:
    """The reseller's ticket has none of the staff fields, which its schema forbids; staff see them."""
    document = httpx.get(f"{server.url}/openapi.json").json()
    schemas = document["components"]["schemas"]
    reseller_only = set(schemas["Ticket"]["properties"])
    staff_fields = set(schemas["StaffTicket"]["properties"]) - reseller_only
    assert staff_fields == {"account", "assignee", "waiting_since", "version"}
    assert schemas["Ticket"]["additionalProperties"] is False
    with httpx.Client(base_url=server.url) as http:
        reseller, staff = new_reseller(db), new_staff(db)
        order = new_order(http, reseller)
        ticket = http.post("/tickets", json=ticket_body(order), headers=reseller.headers).json()["ticket"]
        assert set(ticket) <= reseller_only
        seen = http.get(f"/staff/tickets/{ticket['number']}", headers=staff.headers).json()
        assert staff_fields <= set(seen)
