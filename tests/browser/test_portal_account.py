"""The portal's home and account page in a real browser: what waits first, the keys and webhooks, the
callback secret revealed by keyboard; axe, 390 px, screenshots."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from claimdesk.accounts.service import create_account

from .conftest import Site, Watched, check_page, csp_errors, holding_ticket, sign_in


def test_home_shows_what_waits_first(watched: Watched, site: Site) -> None:
    ticket = holding_ticket(site, description="Two posters missing", question="Were both tubes empty?")
    page = watched.page
    email, password = site.new_user()
    sign_in(page, email, password)
    page.goto("/portal")
    waiting = page.get_by_role("region", name="Waiting for you")
    expect(waiting.get_by_role("link", name=ticket["id"])).to_be_visible()
    latest = page.get_by_role("region", name="Latest tickets")
    expect(latest.get_by_role("link", name=ticket["id"])).to_be_visible()
    assert 1 <= latest.locator("tbody tr").count() <= 5
    expect(page.get_by_role("region", name="Latest orders").get_by_role("link", name="All orders")).to_be_visible()
    check_page(page, "portal home")
    latest.get_by_role("link", name="All tickets").click()
    expect(page.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()
    assert csp_errors(watched) == []


def test_account_page_and_the_secret_by_keyboard(watched: Watched, site: Site) -> None:
    with site.db.transaction() as session:
        account, key = create_account(session, "Webhook Reseller")
    headers = {"Authorization": f"Bearer {key}"}
    url = "https://reseller.example/hooks/claimdesk"
    hook = {"url": url, "events": ["ticket.created", "ticket.status_changed"]}
    made = httpx.post(f"{site.url}/webhooks", json=hook, headers=headers, timeout=30)
    assert made.status_code == 201, made.text
    sent = httpx.post(f"{site.url}/webhooks/{made.json()['id']}/test", headers=headers, timeout=30)
    assert sent.status_code == 202, sent.text
    secret = httpx.get(f"{site.url}/account", headers=headers, timeout=30).json()["callback_secret"]
    page = watched.page
    email, password = site.new_user(account.id)
    sign_in(page, email, password)
    page.get_by_role("link", name="Account", exact=True).click()
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    expect(page.get_by_text(f"cdk_…{key[-4:]}")).to_be_visible()
    expect(page.get_by_role("region", name="Webhook endpoints").get_by_text(url)).to_be_visible()
    expect(page.get_by_role("region", name="Recent deliveries").get_by_text("webhook.test")).to_be_visible()
    content = page.content()
    assert key not in content
    assert secret not in content
    check_page(page, "portal account")

    button = page.get_by_role("button", name="Show callback secret")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Your callback secret")).to_have_value(secret)
    check_page(page, "portal account secret")
    page.get_by_role("link", name="Account", exact=True).click()  # a GET again: the secret is gone
    expect(page.get_by_role("button", name="Show callback secret")).to_be_visible()
    assert secret not in page.content()
    assert csp_errors(watched) == []


def test_a_new_account_says_where_to_start(watched: Watched, site: Site) -> None:
    with site.db.transaction() as session:
        account, _ = create_account(session, "Fresh Reseller")
    page = watched.page
    email, password = site.new_user(account.id)
    sign_in(page, email, password)
    expect(page.get_by_text("Nothing is waiting for you")).to_be_visible()
    check_page(page, "portal home empty")
    page.goto("/portal/account")
    expect(page.get_by_text("No webhook endpoints yet — register one with POST /webhooks")).to_be_visible()
    expect(page.get_by_role("link", name="Read the API reference")).to_have_attribute("href", "/docs")
    check_page(page, "portal account empty")
