"""The portal's home over HTTP: what waits for the reseller first, then the five latest tickets and orders."""

from __future__ import annotations

import re

import httpx

from claimdesk.db import Database
from tests.factories import new_order, new_reseller, new_staff, new_ticket
from tests.web.conftest import sign_in
from tests.web.test_sign_in import new_user


def _section(html: str, title_id: str) -> str:
    match = re.search(rf'<section[^>]*aria-labelledby="{title_id}".*?</section>', html, re.DOTALL)
    assert match is not None, title_id
    return match.group(0)


def test_waiting_first_then_the_five_latest_tickets_and_orders(client: httpx.Client, db: Database) -> None:
    mine, theirs = new_reseller(db), new_reseller(db)
    orders = [new_order(client, mine) for _ in range(6)]
    tickets = [new_ticket(client, mine, order) for order in orders]
    other = new_ticket(client, theirs, new_order(client, theirs))
    held = tickets[0]  # the oldest: on the home only because it waits
    moved = client.post(
        f"/staff/tickets/{held['number']}/status",
        json={"status": "holding", "message": "Which box?"},
        headers=new_staff(db).headers,
    )
    assert moved.status_code == 200, moved.text
    email, password = new_user(db, mine.id)
    sign_in(client, email, password)

    page = client.get("/portal")
    assert page.status_code == 200
    html = page.text
    assert 'href="/portal" aria-current="page"' in html
    waiting = _section(html, "waiting-title")
    assert f'href="/portal/tickets/{held["id"]}"' in waiting
    assert tickets[1]["id"] not in waiting
    latest = _section(html, "tickets-title")
    assert latest.count('<a class="mono" href="/portal/tickets/') == 5
    assert all(f'href="/portal/tickets/{t["id"]}"' in latest for t in tickets[1:])
    assert held["id"] not in latest
    assert 'href="/portal/tickets">All tickets</a>' in latest
    recent = _section(html, "orders-title")
    assert recent.count('<a class="mono" href="/portal/orders/') == 5
    assert all(f'href="/portal/orders/{o["id"]}"' in recent for o in orders[1:])
    assert f'href="/portal/orders/{orders[0]["id"]}"' not in recent
    assert 'href="/portal/orders">All orders</a>' in recent
    assert other["id"] not in html
    assert other["order_id"] not in html
    assert html.index("waiting-title") < html.index("tickets-title") < html.index("orders-title")


def test_a_new_account_home_says_what_comes(client: httpx.Client, db: Database) -> None:
    email, password = new_user(db)
    sign_in(client, email, password)
    html = client.get("/portal").text
    assert "Nothing is waiting for you" in html
    assert "No tickets yet" in html
    assert "No orders yet" in html
    assert client.get("/portal/orders").text.count("No orders yet") == 1
