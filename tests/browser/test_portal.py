"""The portal's order and ticket lists in a real browser: axe, 390 px, screenshots; the nav reaches them."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from PIL import Image
from playwright.sync_api import expect

from .conftest import Site, Watched, check_page, csp_errors, holding_ticket, sign_in


def test_order_and_ticket_lists(watched: Watched, site: Site) -> None:
    page = watched.page
    sign_in(page, site.user_email, site.user_password)
    page.get_by_role("link", name="Orders", exact=True).click()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    check_page(page, "portal orders")
    page.get_by_role("searchbox", name="Search orders").fill("no-such-order")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No orders match")).to_be_visible()
    check_page(page, "portal orders none")
    page.get_by_role("link", name="Tickets", exact=True).click()
    expect(page.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()
    check_page(page, "portal tickets")
    page.get_by_role("combobox", name="Status").select_option("holding")
    page.get_by_role("button", name="Filter").click()
    check_page(page, "portal tickets holding")
    assert csp_errors(watched) == []


def test_answering_a_question_with_a_photo(watched: Watched, site: Site, tmp_path: Path) -> None:
    staff = {"Authorization": f"Bearer {site.staff_key}"}
    question = "Could you send a photo of the delivery note?"
    ticket = holding_ticket(site, description="Two banners missing from the box", question=question)
    photo = tmp_path / "note.png"
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), "orange").save(buffer, "PNG")
    photo.write_bytes(buffer.getvalue())

    page = watched.page
    email, password = site.new_user()
    sign_in(page, email, password)
    page.goto("/portal/tickets")
    waiting = page.get_by_role("region", name="Waiting for your answer")
    waiting.get_by_role("link", name=ticket["id"]).click()
    expect(page.get_by_role("heading", name=f"Ticket {ticket['id']}")).to_be_visible()
    expect(page.get_by_text("Could you send a photo of the delivery note?")).to_be_visible()
    check_page(page, "portal ticket holding")
    page.get_by_label("Message").fill("Here is the delivery note.")
    page.get_by_label("Photos").set_input_files(str(photo))
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply was sent.")).to_be_visible()
    expect(page.locator(".gallery__thumb")).to_have_count(1)
    check_page(page, "portal ticket")
    answer = httpx.get(f"{site.url}/staff/tickets/{ticket['number']}", headers=staff, timeout=30).json()
    assert answer["status"] == "pending"
    assert answer["messages"][-1]["body"] == "Here is the delivery note."
    file_id = answer["messages"][-1]["files"][0]["id"]
    assert csp_errors(watched) == []

    # Another account's person in the same browser: the photos it showed are asked for again, not cached.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, site.other_user_email, site.other_user_password)
    for path in (f"/portal/tickets/{ticket['id']}", f"/portal/files/{file_id}", f"/portal/files/{file_id}/thumbnail"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404, path
    response = page.goto("/console")
    assert response is not None
    assert response.status == 403
