"""The portal's order and ticket lists over HTTP: the account's own rows only, search, filters, holding first."""

from __future__ import annotations

import httpx

from claimdesk.db import Database
from tests.factories import new_order, new_reseller, new_staff, new_ticket
from tests.web.conftest import sign_in
from tests.web.test_sign_in import new_user


def test_lists_search_filters_and_tenancy(client: httpx.Client, db: Database) -> None:
    mine, theirs = new_reseller(db), new_reseller(db)
    first = new_order(client, mine, reference="Roll-up for <Smith & Co>")
    second = new_order(client, mine, reference="Flyers")
    other = new_order(client, theirs)
    waiting = new_ticket(client, mine, first)
    open_one = new_ticket(client, mine, second, reason="missing", products=[{"id": 17, "amount": 1}])
    new_ticket(client, theirs, other)
    staff = new_staff(db)
    moved = client.post(
        f"/staff/tickets/{waiting['number']}/status",
        json={"status": "holding", "message": "Could you send a photo?"},
        headers=staff.headers,
    )
    assert moved.status_code == 200, moved.text
    email, password = new_user(db, mine.id)
    sign_in(client, email, password)

    orders = client.get("/portal/orders").text
    assert first["id"] in orders
    assert second["id"] in orders
    assert other["id"] not in orders
    assert f'href="/portal/orders/{first["id"]}"' in orders
    assert "Roll-up for &lt;Smith &amp; Co&gt;" in orders
    found = client.get("/portal/orders", params={"q": "smith"}).text
    assert first["id"] in found
    assert second["id"] not in found
    assert second["id"] in client.get("/portal/orders", params={"q": str(second["supplier_order_number"])}).text
    assert "No orders match" in client.get("/portal/orders", params={"q": other["id"]}).text

    tickets = client.get("/portal/tickets").text
    assert tickets.index("Waiting for your answer") < tickets.index(waiting["id"]) < tickets.index(open_one["id"])
    assert tickets.count(f'href="/portal/tickets/{waiting["id"]}"') == 1
    assert other["id"] not in tickets
    missing = client.get("/portal/tickets", params={"reason": "missing"}).text
    assert open_one["id"] in missing
    assert waiting["id"] not in missing
    by_order = client.get("/portal/tickets", params={"order_id": first["id"]}).text
    assert waiting["id"] in by_order
    assert open_one["id"] not in by_order
    wrong = client.get("/portal/tickets", params={"status": "lost"})
    assert wrong.status_code == 422
    assert 'aria-invalid="true"' in wrong.text
    assert 'id="status-error"' in wrong.text


def test_empty_lists_say_so(client: httpx.Client, db: Database) -> None:
    email, password = new_user(db)
    sign_in(client, email, password)
    assert "No orders yet" in client.get("/portal/orders").text
    assert "No tickets yet" in client.get("/portal/tickets").text
    assert "Nothing is waiting for you" in client.get("/portal/tickets", params={"status": "holding"}).text


def test_staff_are_sent_to_the_console(client: httpx.Client, db: Database) -> None:
    staff = new_staff(db)
    sign_in(client, staff.email, staff.password)
    for path in ("/portal/orders", "/portal/tickets"):
        assert client.get(path).headers["location"] == "/console"
