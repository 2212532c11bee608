"""The conversation: reseller replies, staff replies and internal notes that resellers never see."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from claimdesk.db import Database
from claimdesk.models import EvidenceFile, Job
from tests.factories import new_reseller

from .support import world

NOTE = "Internal: production says the roll was damaged before printing."


class TestResellerMessage:
    def test_anonymous(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        assert client.post(f"/tickets/{ticket['id']}/messages", json={"body": "hi"}).status_code == 401

    def test_staff_key_is_forbidden(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        response = client.post(f"/tickets/{ticket['id']}/messages", json={"body": "hi"}, headers=w.staff.headers)
        assert response.status_code == 403

    def test_other_account(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        other = new_reseller(db)
        response = client.post(f"/tickets/{ticket['id']}/messages", json={"body": "hi"}, headers=other.headers)
        assert response.status_code == 404
        assert w.reseller_get(ticket["id"])["messages"] == []
        assert len(w.events(ticket["number"])) == 1

    @pytest.mark.parametrize(
        ("body", "loc", "code"),
        [
            ({"body": ""}, "body", "too_short"),
            ({"body": "x" * 10_001}, "body", "too_long"),
            ({}, "body", "required"),
            ({"body": "a\x00b"}, "body", "invalid_text"),
            ({"body": "hi", "files": [{"uri": "ftp://x.example/a"}]}, "files.0.uri", "invalid_uri"),
            ({"body": "hi", "files": [{"uri": "http://127.0.0.1/a.jpg"}]}, "files.0.uri", "url_not_allowed"),
            ({"body": "hi", "internal": True}, "internal", "unknown_field"),
        ],
    )
    def test_invalid(self, client: httpx.Client, db: Database, body: dict[str, object], loc: str, code: str) -> None:
        w = world(client, db)
        ticket = w.ticket()
        response = client.post(f"/tickets/{ticket['id']}/messages", json=body, headers=w.reseller.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == loc
        assert response.json()["errors"][0]["code"] == code
        assert w.reseller_get(ticket["id"])["messages"] == []
        assert len(w.events(ticket["number"])) == 1

    def test_valid_with_files(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        body = {"body": "x" * 10_000, "files": [{"uri": "https://93.184.215.14/2.jpg"}]}
        response = client.post(f"/tickets/{ticket['id']}/messages", json=body, headers=w.reseller.headers)
        assert response.status_code == 201, response.text
        view = response.json()
        assert view["id"] == ticket["id"]
        assert view["status"] == "open"  # only a holding ticket moves
        message = view["messages"][-1]
        assert message["body"] == "x" * 10_000
        assert message["by"] == {"type": "reseller", "id": w.reseller.id, "name": w.reseller.name}
        assert [f["uri"] for f in message["files"]] == ["https://93.184.215.14/2.jpg"]
        assert message["files"][0]["state"] == "pending"
        events = w.events(ticket["number"])
        assert [e.type for e in events] == ["ticket.created", "ticket.message_added"]
        with db.session() as session:
            file = session.scalars(sa.select(EvidenceFile).where(EvidenceFile.message_id == message["id"])).one()
            jobs = session.scalars(sa.select(Job).where(Job.kind == "fetch_file", Job.ref_id == file.id)).all()
            assert len(jobs) == 1

    def test_reply_to_holding_ticket_moves_it_to_pending(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        assert w.move(ticket["number"], "holding", message="Which banner?").status_code == 200
        assert w.staff_get(ticket["number"])["waiting_since"] is None
        response = client.post(
            f"/tickets/{ticket['id']}/messages", json={"body": "The left one."}, headers=w.reseller.headers
        )
        assert response.status_code == 201, response.text
        view = response.json()
        assert view["status"] == "pending"
        entry = view["history"][-1]
        assert entry["action"] == "status_changed"
        assert entry["from"] == "holding"
        assert entry["status"] == "pending"
        assert entry["by"] == {"type": "reseller", "id": w.reseller.id, "name": w.reseller.name}
        events = w.events(ticket["number"])
        assert [e.type for e in events][-1] == "ticket.status_changed"
        assert len(events) == 3  # created, holding with its message, the reply moving it back
        assert events[-1].ticket["messages"][-1]["body"] == "The left one."
        assert w.staff_get(ticket["number"])["waiting_since"] is not None

    def test_solved_ticket_refuses_messages(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        assert w.move(ticket["number"], "solved").status_code == 200
        response = client.post(f"/tickets/{ticket['id']}/messages", json={"body": "But..."}, headers=w.reseller.headers)
        assert response.status_code == 409
        assert "solved" in response.json()["error"]
        staff = client.post(
            f"/staff/tickets/{ticket['number']}/messages", json={"body": "Public"}, headers=w.staff.headers
        )
        assert staff.status_code == 409
        assert len(w.events(ticket["number"])) == 2
        # Reopened, the thread takes messages again.
        assert w.move(ticket["number"], "pending").status_code == 200
        again = client.post(f"/tickets/{ticket['id']}/messages", json={"body": "But..."}, headers=w.reseller.headers)
        assert again.status_code == 201


class TestStaffMessage:
    def test_public_reply(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        response = client.post(
            f"/staff/tickets/{ticket['number']}/messages", json={"body": "We are on it."}, headers=w.staff.headers
        )
        assert response.status_code == 201, response.text
        message = response.json()["messages"][-1]
        assert message["internal"] is False
        assert message["by"]["type"] == "staff"
        assert [e.type for e in w.events(ticket["number"])] == ["ticket.created", "ticket.message_added"]
        assert w.reseller_get(ticket["id"])["messages"][-1]["body"] == "We are on it."

    def test_invalid(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        for body, code in (({"body": ""}, "too_short"), ({"body": "n", "internal": "yes"}, "invalid_type")):
            response = client.post(f"/staff/tickets/{ticket['number']}/messages", json=body, headers=w.staff.headers)
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["code"] == code
        assert (
            client.post("/staff/tickets/424242/messages", json={"body": "x"}, headers=w.staff.headers).status_code
            == 404
        )

    def test_internal_note_is_invisible_to_resellers(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        before = w.reseller_get(ticket["id"])
        response = client.post(
            f"/staff/tickets/{ticket['number']}/messages",
            json={"body": NOTE, "internal": True},
            headers=w.staff.headers,
        )
        assert response.status_code == 201, response.text
        assert response.json()["messages"][-1] == {**response.json()["messages"][-1], "body": NOTE, "internal": True}
        # Then a public change, whose event snapshot must not carry the note either.
        assert w.move(ticket["number"], "pending", message="Looking into it.").status_code == 200

        assert NOTE in str(w.staff_get(ticket["number"]))
        seen = w.reseller_get(ticket["id"])
        assert NOTE not in str(seen)
        assert seen["updated_at"] != before["updated_at"]  # moved by the status change, not the note
        listed = client.get("/tickets", headers=w.reseller.headers)
        assert NOTE not in listed.text
        assert ticket["id"] in listed.text
        feed = client.get("/events", headers=w.reseller.headers)
        assert feed.status_code == 200
        assert NOTE not in feed.text
        assert [e["type"] for e in feed.json()["events"]] == ["ticket.created", "ticket.status_changed"]
        for event in w.events(ticket["number"]):
            assert NOTE not in str(event.ticket)

    def test_internal_note_alone_changes_nothing_for_the_reseller(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        before = w.reseller_get(ticket["id"])
        response = client.post(
            f"/staff/tickets/{ticket['number']}/messages",
            json={"body": NOTE, "internal": True},
            headers=w.staff.headers,
        )
        assert response.status_code == 201
        assert w.reseller_get(ticket["id"]) == before
        assert len(w.events(ticket["number"])) == 1

    def test_internal_note_on_solved_ticket(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        assert w.move(ticket["number"], "solved").status_code == 200
        response = client.post(
            f"/staff/tickets/{ticket['number']}/messages",
            json={"body": "Credit booked.", "internal": True},
            headers=w.staff.headers,
        )
        assert response.status_code == 201
        assert len(w.events(ticket["number"])) == 2
