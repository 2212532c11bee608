"""The portal's order and ticket lists in a real browser: axe, 390 px, screenshots; the nav reaches them."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import Site, Watched, check_page, csp_errors, sign_in


def test_order_and_ticket_lists(watched: Watched, site: Site) -> None:
    page = watched.page
    sign_in(page, site.user_email, site.user_password)
    page.get_by_role("link", name="Orders").click()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    check_page(page, "portal orders")
    page.get_by_role("searchbox", name="Search orders").fill("no-such-order")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No orders match")).to_be_visible()
    check_page(page, "portal orders none")
    page.get_by_role("link", name="Tickets").click()
    expect(page.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()
    check_page(page, "portal tickets")
    page.get_by_role("combobox", name="Status").select_option("holding")
    page.get_by_role("button", name="Filter").click()
    check_page(page, "portal tickets holding")
    assert csp_errors(watched) == []
