"""The SDK against a live server (SQLite and PostgreSQL): tickets, pages, orders, errors, async."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from claimdesk.db import Database
from claimdesk.testing.server import ThreadedServer
from claimdesk_client import (
    AsyncClient,
    AuthenticationFailed,
    Client,
    Conflict,
    NotFound,
    Order,
    OrderNotFound,
    PermissionDenied,
    ValidationFailed,
)
from tests.factories import Reseller, new_order, new_reseller, new_staff, new_ticket, ticket_body


class TestTickets:
    def test_create_then_the_same_again_is_already_received(self, sdk: Client, order: dict[str, Any]) -> None:
        body = ticket_body(order)
        first = sdk.tickets.create(body)
        assert first.created
        assert first.ticket.id == body["id"]
        assert first.ticket.status == "open"
        assert first.ticket.products[0].files[0].state == "pending"
        again = sdk.tickets.create(body)
        assert again.already_received
        assert again.message == "Ticket already received"
        assert again.ticket.number == first.ticket.number

    def test_a_body_without_id_gets_one(self, sdk: Client, order: dict[str, Any]) -> None:
        body = ticket_body(order)
        del body["id"]
        receipt = sdk.tickets.create(body)
        assert receipt.ticket.id.startswith("tkt_")
        assert sdk.tickets.get(receipt.ticket.id).number == receipt.ticket.number

    def test_validate(self, sdk: Client, order: dict[str, Any]) -> None:
        assert sdk.tickets.validate(ticket_body(order)) is True
        with pytest.raises(ValidationFailed) as caught:
            sdk.tickets.validate(
                ticket_body(order, contact_email="nope", products=[{"id": order["products"][0]["id"], "amount": 1}])
            )
        assert {(e.loc, e.code) for e in caught.value.errors} == {
            ("contact_email", "invalid_email"),
            ("products.0.files", "files_required"),
        }
        assert caught.value.status == 422
        assert caught.value.request_id

    def test_the_grouping_conflict_names_the_ticket(self, sdk: Client, order: dict[str, Any]) -> None:
        first = sdk.tickets.create(ticket_body(order))
        line = {"id": order["products"][0]["id"], "amount": 1, "files": [{"uri": "https://93.184.215.14/2.jpg"}]}
        with pytest.raises(Conflict) as caught:
            sdk.tickets.create(ticket_body(order, products=[line]))
        assert caught.value.ticket is not None
        assert caught.value.ticket.id == first.ticket.id
        assert caught.value.codes == ["ticket_exists"]

    def test_list_follows_cursors(self, sdk: Client, client: httpx.Client, reseller: Reseller, db: Database) -> None:
        made = []
        for _ in range(5):
            order = new_order(client, reseller)
            made.append(new_ticket(client, reseller, order, reason="delayed", products=[{"id": 17, "amount": 1}]))
        stranger = new_reseller(db)
        other = new_ticket(client, stranger, new_order(client, stranger))["id"]
        listed = [t.id for t in sdk.tickets.list(status="open", page_size=2)]
        assert listed == [t["id"] for t in reversed(made)]
        assert other not in listed
        assert [t.id for t in sdk.tickets.list(status="solved")] == []

    def test_reply(self, sdk: Client, order: dict[str, Any]) -> None:
        ticket = sdk.tickets.create(ticket_body(order)).ticket
        answered = sdk.tickets.reply(ticket.id, "Another photo.", files=["https://93.184.215.14/p/2.jpg"])
        assert [m.body for m in answered.messages] == ["Another photo."]
        assert answered.messages[0].by.type == "reseller"
        assert answered.messages[0].files[0].uri == "https://93.184.215.14/p/2.jpg"

    def test_another_accounts_ticket_is_not_found(
        self, sdk: Client, client: httpx.Client, db: Database, order: dict[str, Any]
    ) -> None:
        stranger = new_reseller(db)
        theirs = new_ticket(client, stranger, new_order(client, stranger))
        with pytest.raises(NotFound) as caught:
            sdk.tickets.get(theirs["id"])
        assert caught.value.status == 404


class TestAuth:
    def test_a_wrong_key(self, server: ThreadedServer) -> None:
        with Client(server.url, "cdk_wrong") as sdk, pytest.raises(AuthenticationFailed) as caught:
            sdk.reasons()
        assert caught.value.status == 401
        assert caught.value.request_id

    def test_a_staff_key_on_reseller_endpoints(self, server: ThreadedServer, db: Database) -> None:
        with Client(server.url, new_staff(db).key) as sdk, pytest.raises(PermissionDenied) as caught:
            sdk.tickets.get("x")
        assert caught.value.status == 403


class TestOrders:
    def test_create_and_status_in_batches_of_five(self, sdk: Client) -> None:
        made = [
            sdk.orders.create({"id": f"web-{i}", "products": [{"id": 17, "code": "banner-510", "amount": 3}]})
            for i in range(6)
        ]
        assert made[0].supplier_order_number > 0
        found = sdk.orders.status(*[o.id for o in made], "nope", made[0].supplier_order_number)
        assert len(found) == 8
        assert [o.id for o in found if isinstance(o, Order)] == [*[o.id for o in made], made[0].id]
        missing = found[6]
        assert isinstance(missing, OrderNotFound)
        assert missing.query == {"id": "nope"}
        first = found[0]
        assert isinstance(first, Order)
        assert first.products[0].claimable == 3

    def test_a_taken_order_id_is_a_conflict_without_ticket(self, sdk: Client, order: dict[str, Any]) -> None:
        with pytest.raises(Conflict) as caught:
            sdk.orders.create({"id": order["id"], "products": [{"amount": 1}]})
        assert caught.value.ticket is None


class TestCatalogueAndEvents:
    def test_reasons_and_solutions_in_the_guides_order(self, sdk: Client) -> None:
        reasons = sdk.reasons()
        assert reasons[0].value == "damaged"
        assert reasons[0].files_required
        assert len(reasons) == 14
        assert [s.value for s in sdk.solutions()] == ["rework", "credit", "other"]

    def test_events_since(self, sdk: Client, order: dict[str, Any]) -> None:
        ticket = sdk.tickets.create(ticket_body(order)).ticket
        sdk.tickets.reply(ticket.id, "More.")
        events = list(sdk.events.list(page_size=1))
        assert [(e.type, e.data.sequence) for e in events] == [("ticket.created", 1), ("ticket.message_added", 2)]
        assert all(e.data.ticket.id == ticket.id for e in events)
        assert [e.type for e in sdk.events.list(since=events[0].data.event_id)] == ["ticket.message_added"]
        assert sdk.account().name == "Print Partners"


def test_async_client(server: ThreadedServer, reseller: Reseller, order: dict[str, Any]) -> None:
    async def scenario() -> tuple[bool, bool, list[str]]:
        async with AsyncClient(server.url, reseller.key) as sdk:
            body = ticket_body(order)
            first, second = await asyncio.gather(sdk.tickets.create(body), sdk.tickets.create(body))
            listed = [t.id async for t in sdk.tickets.list(page_size=1)]
            return first.created, second.created, listed

    one, other, listed = asyncio.run(scenario())
    assert sorted([one, other]) == [False, True]  # two at once with one id: one ticket
    assert len(listed) == 1
