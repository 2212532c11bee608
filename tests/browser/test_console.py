"""The staff console in a real browser: search, take, ask, solve; bulk actions; escaping; keys; axe and 390 px."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from claimdesk.accounts.service import create_account
from claimdesk.rules.catalogue import Reason

from .conftest import XSS, Site, Watched, check_page, csp_errors, sign_in

# The console's tickets belong to an account of their own, so that the portal's tests see none of them.
# Each takes a (card design, reason) pair of its order: one unsolved ticket per product and reason.
_PAIRS = itertools.product((1, 2, 3), [r.value for r in Reason if not r.needs_files])


@dataclass(frozen=True)
class Shop:
    key: str
    order_id: str


@pytest.fixture(scope="module")
def shop(site: Site) -> Shop:
    with site.db.transaction() as session:
        _, key = create_account(session, "Console Test Prints")
    order: dict[str, Any] = {
        "id": "console-order-1",
        "reference": "Cards for the console tests",
        "products": [{"id": n, "code": f"cards-design-{n}", "amount": 250} for n in (1, 2, 3)],
    }
    response = httpx.post(f"{site.url}/order", json=order, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert response.status_code == 201, response.text
    return Shop(key, "console-order-1")


def file_ticket(site: Site, shop: Shop, description: str, amount: int = 4) -> dict[str, Any]:
    product, reason = next(_PAIRS)
    body = {
        "order_id": shop.order_id,
        "id": f"console-{product}-{reason}",
        "description": description,
        "reason": reason,
        "suggested_solution": "credit",
        "contact_email": "support@reseller.example",
        "products": [{"id": product, "amount": amount}],
    }
    response = httpx.post(f"{site.url}/tickets", json=body, headers=_reseller(shop), timeout=30)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()["ticket"]
    return ticket


def _reseller(shop: Shop) -> dict[str, str]:
    return {"Authorization": f"Bearer {shop.key}"}


def _staff(site: Site) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.staff_key}"}


def all_events(site: Site, shop: Shop) -> list[dict[str, Any]]:
    """The test account's events, every page of them."""
    found: list[dict[str, Any]] = []
    since = 0
    while True:
        page = httpx.get(
            f"{site.url}/events", params={"since": since, "limit": 100}, headers=_reseller(shop), timeout=30
        ).json()
        found += page["events"]
        if not page["events"]:
            return found
        since = page["next_since"]


def staff_view(site: Site, number: int) -> dict[str, Any]:
    response = httpx.get(f"{site.url}/staff/tickets/{number}", headers=_staff(site), timeout=30)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def test_search_take_ask_answer_and_solve_with_a_partial_credit(watched: Watched, site: Site, shop: Shop) -> None:
    page = watched.page
    ticket = file_ticket(site, shop, "Business cards printed with a Zeppelin watermark", amount=10)
    number = ticket["number"]
    sign_in(page, site.staff_email, site.staff_password)

    page.get_by_label("Search").fill("zeppelin")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tr.queue-row")
    expect(rows).to_have_count(1)
    check_page(page, "console queue search")
    rows.first.get_by_role("link", name=f"#{number}").click()
    expect(page.get_by_role("heading", name=re.compile(f"Ticket #{number}"))).to_be_visible()

    page.get_by_label("Assign to").select_option("me")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_text("Assignment saved.")).to_be_visible()

    page.get_by_role("button", name="Move to holding").click()
    expect(page.get_by_text("Ticket moved to holding.")).to_be_visible()
    page.get_by_label("Message", exact=True).fill("Which of the three designs shows the watermark?")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Reply sent to the reseller.")).to_be_visible()

    # The reseller answers through the API: the ticket is pending again.
    answer = httpx.post(
        f"{site.url}/tickets/{ticket['id']}/messages",
        json={"body": "Only design A, all 250 cards."},
        headers=_reseller(shop),
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    page.reload()
    expect(page.locator(".page-header__meta .badge")).to_have_text("Pending")
    expect(page.get_by_text("Only design A, all 250 cards.")).to_be_visible()

    page.get_by_text("Solve…").click()
    page.get_by_label("Outcome").select_option("credit")
    page.get_by_label("Note for the reseller").fill("We credit 6 of the 10 cards.")
    page.locator(".grants__input").fill("6")
    check_page(page, "console desk solving")
    page.get_by_role("button", name="Solve ticket").click()
    expect(page.get_by_text("Ticket moved to solved.")).to_be_visible()

    view = staff_view(site, number)
    assert view["status"] == "solved"
    assert view["resolution"]["outcome"] == "credit"
    assert view["products"][0]["granted"] == 6
    steps = [(h["action"], h["status"]) for h in view["history"]]
    assert steps == [
        ("created", "open"),
        ("assigned", "open"),
        ("status_changed", "holding"),
        ("status_changed", "pending"),
        ("status_changed", "solved"),
    ]
    assert view["history"][-1]["by"]["type"] == "staff"
    assert view["history"][3]["by"]["type"] == "reseller"
    mine = [e for e in all_events(site, shop) if e["data"]["ticket"]["number"] == number]
    assert [e["type"] for e in mine] == [
        "ticket.created",
        "ticket.status_changed",
        "ticket.message_added",
        "ticket.status_changed",
        "ticket.status_changed",
    ]
    assert mine[-1]["data"]["ticket"]["resolution"]["outcome"] == "credit"
    expect(page.locator(".timeline")).to_contain_text("Pending → Solved (credit)")
    assert csp_errors(watched) == []


def test_bulk_assign_and_a_bulk_move_one_ticket_cannot_make(page: Page, site: Site, shop: Shop) -> None:
    first, second = file_ticket(site, shop, "Bulk one quagga"), file_ticket(site, shop, "Bulk two quagga")
    moved = httpx.post(
        f"{site.url}/staff/tickets/{second['number']}/status", json={"status": "pending"}, headers=_staff(site)
    )
    assert moved.status_code == 200
    sign_in(page, site.staff_email, site.staff_password)
    page.goto("/console?q=quagga")
    expect(page.locator("tr.queue-row")).to_have_count(2)
    page.get_by_label(f"Pick ticket {first['number']}").check()
    page.get_by_label(f"Pick ticket {second['number']}").check()
    page.get_by_label("With the picked tickets").select_option("assign:me")
    page.get_by_role("button", name="Apply to picked").click()
    expect(page.get_by_role("heading", name="Bulk action: 2 of 2 done")).to_be_visible()

    page.get_by_label(f"Pick ticket {first['number']}").check()
    page.get_by_label(f"Pick ticket {second['number']}").check()
    page.get_by_label("With the picked tickets").select_option("move:pending")
    page.get_by_role("button", name="Apply to picked").click()
    expect(page.get_by_role("heading", name="Bulk action: 1 of 2 done")).to_be_visible()
    expect(page.locator(".bulk-results__item--refused")).to_contain_text("A pending ticket cannot move to pending")
    check_page(page, "console bulk results")
    assert staff_view(site, first["number"])["status"] == "pending"
    assert staff_view(site, first["number"])["assignee"]["email"] == site.staff_email


def test_client_text_is_shown_as_text_everywhere(watched: Watched, site: Site, shop: Shop) -> None:
    page = watched.page
    ticket = file_ticket(site, shop, f"Walrus {XSS}")
    reply = httpx.post(
        f"{site.url}/tickets/{ticket['id']}/messages", json={"body": f"Message {XSS}"}, headers=_reseller(shop)
    )
    assert reply.status_code == 201
    sign_in(page, site.staff_email, site.staff_password)
    page.goto("/console?q=walrus")
    expect(page.locator("tr.queue-row")).to_have_count(1)
    page.goto(f"/console/tickets/{ticket['number']}")
    expect(page.locator(".message__body").first).to_have_text(f"Walrus {XSS}")
    expect(page.get_by_text(f"Message {XSS}")).to_be_visible()
    assert page.locator(".desk img[src='x']").count() == 0
    check_page(page, "console desk")
    page.goto("/console/dashboard")
    check_page(page, "console dashboard")
    page.goto("/console")
    check_page(page, "console queue")
    assert watched.dialogs == []
    assert csp_errors(watched) == []


def test_keyboard_shortcuts(page: Page, site: Site, shop: Shop) -> None:
    file_ticket(site, shop, "Keyboard capybara one")
    file_ticket(site, shop, "Keyboard capybara two")
    sign_in(page, site.staff_email, site.staff_password)
    page.goto("/console?q=capybara")
    rows = page.locator("tr.queue-row")
    expect(rows).to_have_count(2)
    page.locator("body").press("j")
    expect(rows.nth(0)).to_have_class(re.compile("is-current"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("is-current"))
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile("is-current"))
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    href = rows.nth(0).locator(".queue-row__link").get_attribute("href")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{site.url}{href}")


def test_a_form_posted_with_another_sessions_token_changes_nothing(browser: Any, site: Site, shop: Shop) -> None:
    ticket = file_ticket(site, shop, "CSRF okapi")
    one, two = browser.new_context(base_url=site.url), browser.new_context(base_url=site.url)
    try:
        first, second = one.new_page(), two.new_page()
        sign_in(first, site.staff_email, site.staff_password)
        sign_in(second, site.staff_email, site.staff_password)
        first.goto(f"/console/tickets/{ticket['number']}")
        token_of_second = second.locator("input[name=csrf_token]").first.get_attribute("value")
        first.evaluate(
            "token => document.querySelectorAll('input[name=csrf_token]').forEach(i => { i.value = token; })",
            token_of_second,
        )
        first.get_by_role("button", name="Move to pending").click()
        expect(first.locator(".error-page__code")).to_have_text("Error 403")
        assert staff_view(site, ticket["number"])["status"] == "open"
    finally:
        one.close()
        two.close()
