"""The console's pages over HTTP with a signed-in staff session: queue, desk, dashboard, and their forms."""

from __future__ import annotations

import re

import httpx
import pytest

from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.demo import demo_image
from claimdesk.rules.catalogue import Reason
from tests.factories import StaffMember
from tests.lifecycle.support import World, world

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(client: httpx.Client, staff: StaffMember) -> str:
    """Signs the client in; returns the session's CSRF token."""
    page = client.get("/login")
    token = TOKEN.search(page.text)
    assert token is not None
    answer = client.post(
        "/login",
        data={"email": staff.email, "password": staff.password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    console = client.get("/console")
    assert console.status_code == 200
    found = TOKEN.search(console.text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Plain HTTP in the tests: the session cookie cannot be Secure."""
    return settings.model_copy(update={"secure_cookies": False})


@pytest.fixture
def staffed(client: httpx.Client, db: Database) -> tuple[World, str]:
    w = world(client, db)
    return w, sign_in(client, w.staff)


class TestQueuePage:
    def test_rows_tabs_and_search(self, staffed: tuple[World, str]) -> None:
        w, _ = staffed
        torn = w.ticket(description="<script>alert(1)</script> torn")
        w.flyer_ticket("color")
        page = w.client.get("/console")
        assert page.status_code == 200
        assert f'href="/console/tickets/{torn["number"]}"' in page.text
        assert "<script>alert(1)" not in page.text
        assert 'Open <span class="tabs__count">2</span>' in page.text
        found = w.client.get("/console", params={"q": "script torn"})
        assert f"#{torn['number']}" in found.text
        assert found.text.count('<tr class="queue-row') == 1

    def test_bad_filter_is_shown_not_a_500(self, staffed: tuple[World, str]) -> None:
        w, _ = staffed
        page = w.client.get("/console", params={"q": "x" * 300})
        assert page.status_code == 200
        assert "q must be at most 200 characters" in page.text

    def test_bulk_assign_and_move_with_a_refusal(self, staffed: tuple[World, str]) -> None:
        w, token = staffed
        first, second = w.ticket(), w.flyer_ticket("color")
        assert w.move(second["number"], "pending").status_code == 200
        numbers = [first["number"], second["number"]]
        assigned = w.client.post("/console/bulk", data={"csrf_token": token, "tickets": numbers, "action": "assign:me"})
        assert assigned.status_code == 200
        assert "2 of 2 done" in assigned.text
        moved = w.client.post("/console/bulk", data={"csrf_token": token, "tickets": numbers, "action": "move:pending"})
        assert "1 of 2 done" in moved.text
        assert "A pending ticket cannot move to pending" in moved.text
        assert w.staff_get(first["number"])["status"] == "pending"

    def test_bulk_without_csrf_changes_nothing(self, staffed: tuple[World, str]) -> None:
        w, _ = staffed
        ticket = w.ticket()
        refused = w.client.post("/console/bulk", data={"tickets": [ticket["number"]], "action": "assign:me"})
        assert refused.status_code == 403
        assert w.staff_get(ticket["number"])["assignee"] is None


class TestDesk:
    def test_reply_note_hold_and_solve_with_partial_credit(self, staffed: tuple[World, str]) -> None:
        w, token = staffed
        ticket = w.ticket(description='<img src=x onerror="alert(1)">')
        number = ticket["number"]
        desk = w.client.get(f"/console/tickets/{number}")
        assert desk.status_code == 200
        assert '<img src=x onerror="alert(1)">' not in desk.text
        assert "&lt;img src=x onerror=" in desk.text
        assert Reason.DAMAGED.info.explanation in desk.text  # the guide's explanation, from the catalogue

        note = w.client.post(
            f"/console/tickets/{number}/messages",
            data={"csrf_token": token, "body": "Check the courier", "internal": "on"},
            follow_redirects=True,
        )
        assert note.status_code == 200  # followed the redirect back to the desk
        assert "Internal note" in note.text
        version = str(w.staff_get(number)["version"])
        held = w.client.post(
            f"/console/tickets/{number}/status",
            data={"csrf_token": token, "status": "holding", "message": "Which corner?", "version": version},
            follow_redirects=True,
        )
        assert held.status_code == 200, held.text
        view = w.staff_get(number)
        assert view["status"] == "holding"
        solved = w.client.post(
            f"/console/tickets/{number}/status",
            data={
                "csrf_token": token,
                "status": "solved",
                "version": str(view["version"]),
                "outcome": "credit",
                "note": "One banner credited.",
                "granted_17": "1",
                "ref_is_int_17": "1",
            },
            follow_redirects=True,
        )
        assert solved.status_code == 200, solved.text
        after = w.staff_get(number)
        assert after["resolution"]["outcome"] == "credit"
        assert after["products"][0]["granted"] == 1

    def test_a_note_with_photos_stores_them_checked_by_content(self, staffed: tuple[World, str]) -> None:
        w, token = staffed
        ticket = w.ticket()
        path = f"/console/tickets/{ticket['number']}/messages"
        refused = w.client.post(
            path,
            data={"csrf_token": token, "body": "See the photo"},
            files=[("photos", ("photo.jpg", b"not an image at all", "image/jpeg"))],
        )
        assert refused.status_code == 422
        assert "photo.jpg is" in refused.text
        assert w.staff_get(ticket["number"])["messages"] == []

        sent = w.client.post(
            path,
            data={"csrf_token": token, "body": "The tear, photographed in the warehouse", "internal": "on"},
            files=[("photos", ("tear.png", demo_image(0), "image/png"))],
            follow_redirects=True,
        )
        assert sent.status_code == 200, sent.text
        [message] = w.staff_get(ticket["number"])["messages"]
        assert message["internal"] is True
        [photo] = message["files"]
        assert (photo["state"], photo["filename"], photo["content_type"]) == ("stored", "tear.png", "image/png")
        assert f'src="/console/files/{photo["id"]}/thumbnail"' in sent.text
        thumbnail = w.client.get(f"/console/files/{photo['id']}/thumbnail")
        assert thumbnail.status_code == 200
        assert thumbnail.headers["content-type"].startswith("image/")
        original = w.client.get(f"/console/files/{photo['id']}")
        assert original.content == demo_image(0)
        # Internal: the reseller sees neither the note nor its photo.
        assert w.reseller_get(ticket["id"])["messages"] == []

    def test_a_stale_version_says_so_and_shows_the_newer_state(self, staffed: tuple[World, str]) -> None:
        w, token = staffed
        ticket = w.ticket()
        assert w.move(ticket["number"], "pending").status_code == 200  # someone else, meanwhile
        stale = w.client.post(
            f"/console/tickets/{ticket['number']}/status",
            data={"csrf_token": token, "status": "holding", "version": "1"},
        )
        assert stale.status_code == 409
        assert "Someone else changed this ticket" in stale.text
        assert "changed since you read it" in stale.text
        assert w.staff_get(ticket["number"])["status"] == "pending"

    def test_granting_more_than_claimed_is_shown_at_its_field(self, staffed: tuple[World, str]) -> None:
        w, token = staffed
        ticket = w.ticket()
        refused = w.client.post(
            f"/console/tickets/{ticket['number']}/status",
            data={
                "csrf_token": token,
                "status": "solved",
                "outcome": "credit",
                "note": "x",
                "granted_17": "9",
                "ref_is_int_17": "1",
            },
        )
        assert refused.status_code == 422
        assert "error-summary" in refused.text
        assert w.staff_get(ticket["number"])["status"] == "open"

    def test_unknown_ticket_is_a_404_page(self, staffed: tuple[World, str]) -> None:
        w, _ = staffed
        missing = w.client.get("/console/tickets/999999")
        assert missing.status_code == 404
        assert "text/html" in missing.headers["content-type"]


class TestDashboard:
    def test_page_and_csv(self, staffed: tuple[World, str]) -> None:
        w, _ = staffed
        w.ticket(id="=cmd|evil", description="<script>x</script>")
        page = w.client.get("/console/dashboard")
        assert page.status_code == 200
        assert "Tickets opened per week" in page.text
        assert "<script>x" not in page.text
        export = w.client.get("/console/dashboard.csv")
        assert export.status_code == 200
        assert export.headers["content-type"].startswith("text/csv")
        lines = export.text.splitlines()
        assert lines[0].startswith("number,ticket_id,account")
        assert ",'=cmd|evil," in lines[1]

    def test_bad_range(self, staffed: tuple[World, str]) -> None:
        w, _ = staffed
        page = w.client.get("/console/dashboard", params={"since": "soon"})
        assert page.status_code == 422
        assert "since must be a date" in page.text


def test_anonymous_is_sent_to_sign_in(client: httpx.Client) -> None:
    answer = client.get("/console/dashboard", follow_redirects=False)
    assert answer.status_code in (302, 303)
    assert answer.headers["location"].startswith("/login")
