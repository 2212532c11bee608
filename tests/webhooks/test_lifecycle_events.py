"""End to end: staff work a ticket through the real staff endpoints; the reseller's endpoint hears each
visible change, in sequence, and the ticket's contact gets an e-mail per status change and staff reply."""

from __future__ import annotations

import httpx
import pytest

from claimdesk.config import Settings
from claimdesk.db import Database
from tests.factories import new_reseller, new_staff

from .support import MailSink, Receiver, drain, file_ticket, register_webhook


@pytest.fixture
def settings(settings: Settings, smtp: tuple[MailSink, str]) -> Settings:
    return settings.model_copy(
        update={
            "retry_base_seconds": 0.001,
            "allow_private_urls": True,
            "smtp_url": smtp[1],
        }
    )


def test_staff_work_reaches_the_endpoint_and_the_contact(
    client: httpx.Client, db: Database, settings: Settings, receiver: Receiver, smtp: tuple[MailSink, str]
) -> None:
    reseller, staff = new_reseller(db), new_staff(db)
    hook = register_webhook(client, reseller, f"{receiver.url}/hook")
    ticket = file_ticket(client, reseller)
    number = ticket["number"]

    def staff_post(path: str, body: dict[str, object]) -> None:
        response = client.post(f"/staff/tickets/{number}/{path}", json=body, headers=staff.headers)
        assert response.status_code in (200, 201), response.text

    staff_post("messages", {"body": "Checked with production.", "internal": True})
    staff_post("status", {"status": "holding", "message": "Please send a photo of the label."})
    staff_post("messages", {"body": "Any news?"})

    drain(db, settings)

    payloads = sorted((r.verify(hook["secret"]) for r in receiver.received), key=lambda p: p["data"]["sequence"])
    assert [(p["data"]["sequence"], p["type"]) for p in payloads] == [
        (1, "ticket.created"),
        (2, "ticket.status_changed"),
        (3, "ticket.message_added"),
    ]
    assert "Checked with production." not in str(payloads)
    assert payloads[1]["data"]["ticket"]["status"] == "holding"
    subjects = sorted(content.split(b"Subject: ", 1)[1].split(b"\n", 1)[0].strip() for _to, content in smtp[0].messages)
    assert subjects == [f"Ticket {ticket['id']}: a new reply".encode(), f"Ticket {ticket['id']}: now holding".encode()]
    assert all(to == [ticket["contact_email"]] for to, _content in smtp[0].messages)
