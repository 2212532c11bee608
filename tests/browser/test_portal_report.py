"""The portal's report form in Chromium: a reseller user reports problems with three lines of an order.

Each test registers an order of its own (through the API, with the demo account's key), so that it sees
only its own tickets.
"""

from __future__ import annotations

import io
import itertools
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.sync_api import Page, expect

from .conftest import Site, check_page, sign_in

_counter = itertools.count(1)
CUSTOMER = "end.customer@example.org"


def new_order(site: Site) -> str:
    order_id = f"BR-{next(_counter)}-{uuid.uuid4().hex[:6]}"
    body = {
        "id": order_id,
        "reference": "Trade fair kit",
        "customer_email": CUSTOMER,
        "products": [
            {"id": 41, "code": "rollup-850", "amount": 2},
            {"id": 42, "code": "flyer-a5", "amount": 500},
            {"id": 43, "code": "sticker-sq", "amount": 100},
        ],
    }
    answer = httpx.post(f"{site.url}/order", json=body, headers={"Authorization": f"Bearer {site.reseller_key}"})
    assert answer.status_code == 201, answer.text
    return order_id


def tickets_of(site: Site, order_id: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{site.url}/tickets", params={"order_id": order_id}, headers={"Authorization": f"Bearer {site.reseller_key}"}
    )
    assert answer.status_code == 200, answer.text
    tickets: list[dict[str, Any]] = answer.json()["tickets"]
    return tickets


def photo(folder: Path) -> Path:
    path = folder / "torn-rollup.jpg"
    out = io.BytesIO()
    Image.new("RGB", (160, 120), (31, 79, 209)).save(out, format="JPEG")
    path.write_bytes(out.getvalue())
    return path


def open_order(page: Page, site: Site, order_id: str) -> None:
    email, password = site.new_user()
    sign_in(page, email, password)
    page.goto(f"/portal/orders/{order_id}")
    expect(page.get_by_role("heading", name=order_id)).to_be_visible()


def fill_line(page: Page, index: int, amount: str, reason: str, solution: str) -> None:
    line = page.locator("fieldset").nth(index)
    line.get_by_label("Include").check()
    line.get_by_label("Amount").fill(amount)
    line.get_by_label("Reason").select_option(reason)
    line.get_by_label("Solution").select_option(solution)


def test_one_damaged_and_two_missing_make_two_tickets(page: Page, site: Site, tmp_path: Path) -> None:
    order_id = new_order(site)
    open_order(page, site, order_id)
    check_page(page, "portal order report form")

    first = page.locator("fieldset").nth(0)
    expect(first.locator("legend")).to_contain_text("rollup-850")
    expect(first.locator("legend")).to_contain_text("41")
    fill_line(page, 0, "1", "damaged", "rework")
    # The chosen reason explains itself and says that it needs photos.
    expect(first.get_by_text("Items arrived damaged, torn, dented or broken.")).to_be_visible()
    expect(first.get_by_text("Photos required.")).to_be_visible()
    expect(first.get_by_label("Amount")).to_have_attribute("max", "2")
    first.get_by_label("Photos").set_input_files(photo(tmp_path))
    fill_line(page, 1, "20", "missing", "credit")
    fill_line(page, 2, "5", "missing", "credit")
    expect(page.locator("fieldset").nth(1).get_by_text("Photos optional.")).to_be_visible()
    page.get_by_label("Description").fill("The pallet arrived open: one roll-up torn, flyers and stickers short.")
    page.get_by_label("Contact email").fill("claims@reseller.example")
    page.get_by_role("button", name="File complaint").click()

    expect(page).to_have_url(re.compile(r"/filed\?ticket=web-[0-9a-f]+&ticket=web-[0-9a-f]+$"))
    expect(page.get_by_role("heading", name=re.compile("2 tickets"))).to_be_visible()
    check_page(page, "portal report filed")
    filed = {t["id"]: t for t in tickets_of(site, order_id)}
    assert len(filed) == 2
    by_reason = {t["reason"]: t for t in filed.values()}
    assert [(p["id"], p["amount"], len(p["files"])) for p in by_reason["damaged"]["products"]] == [(41, 1, 1)]
    assert [(p["id"], p["amount"]) for p in by_reason["missing"]["products"]] == [(42, 20), (43, 5)]
    for ticket_id in filed:
        expect(page.locator(f'a[href="/portal/tickets/{ticket_id}"]').first).to_be_visible()
    expect(page.get_by_text("torn-rollup.jpg")).to_be_visible()


def test_every_mistake_at_once_stores_nothing_and_keeps_the_input(page: Page, site: Site) -> None:
    order_id = new_order(site)
    open_order(page, site, order_id)
    fill_line(page, 0, "1", "damaged", "rework")  # no photo
    fill_line(page, 1, "501", "missing", "credit")  # 500 ordered
    page.get_by_label("Contact email").fill(CUSTOMER)  # the order's customer
    page.get_by_role("button", name="File complaint").click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.get_by_role("listitem")).to_have_count(3)
    first, second = page.locator("fieldset").nth(0), page.locator("fieldset").nth(1)
    expect(first.locator("#line-0-photos-error")).to_contain_text("requires at least one file")
    expect(second.locator("#line-1-amount-error")).to_contain_text(
        "Only 500 of the 500 items of product 42 can still be claimed; 501 were asked."
    )
    expect(page.locator("#contact_email-error")).to_contain_text("end customer's e-mail address")
    for control in ("#line-0-photos", "#line-1-amount", "#contact_email"):
        expect(page.locator(control)).to_have_attribute("aria-invalid", "true")
    # A summary entry takes the keyboard to its field.
    summary.get_by_role("link", name=re.compile("501 were asked")).click()
    expect(second.get_by_label("Amount")).to_be_focused()
    check_page(page, "portal report errors")

    assert tickets_of(site, order_id) == []
    expect(page.get_by_label("Contact email")).to_have_value(CUSTOMER)
    expect(second.get_by_label("Amount")).to_have_value("501")
    expect(first.get_by_label("Reason")).to_have_value("damaged")
    expect(first.get_by_label("Include")).to_be_checked()
    expect(page.locator("fieldset").nth(2).get_by_label("Include")).not_to_be_checked()
