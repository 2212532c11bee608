"""E-mail to the ticket's contact through a real SMTP server (aiosmtpd) on 127.0.0.1, sent by the worker."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import httpx
import pytest
import sqlalchemy as sa

from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.models import Account, HistoryEntry, Message, Ticket, utcnow
from claimdesk.rules.events import EventType
from claimdesk.tickets.lifecycle import record_ticket_event
from tests.factories import new_reseller

from .support import MailSink, Receiver, drain, file_ticket, queued, register_webhook


@pytest.fixture
def settings(settings: Settings, smtp: tuple[MailSink, str]) -> Settings:
    return settings.model_copy(
        update={
            "retry_base_seconds": 0.001,
            "allow_private_urls": True,
            "smtp_url": smtp[1],
            "smtp_from": "tickets@supplier.example",
        }
    )


def mails(sink: MailSink) -> list[EmailMessage]:
    found = []
    for _rcpt, content in sink.messages:
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def add_event(
    db: Database,
    number: int,
    event: EventType,
    *,
    status: str | None = None,
    message: str | None = None,
    by: str = "staff",
) -> None:
    """What the lifecycle's staff and reseller endpoints write, as far as the e-mail goes."""
    now = utcnow()
    with db.transaction() as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None
        if status is not None:
            session.add(
                HistoryEntry(
                    ticket_id=ticket.id,
                    action="status_changed",
                    status=status,
                    details={"from": ticket.status},
                    by_type=by,
                    by_name="Agent <b>Smith</b>",
                    at=now,
                )
            )
            ticket.status = status
        if message is not None:
            session.add(
                Message(ticket_id=ticket.id, body=message, by_type=by, by_name="Agent <b>Smith</b>", created_at=now)
            )
        record_ticket_event(session, ticket, event)


class TestTicketMail:
    def test_status_change_mails_the_contact(
        self, client: httpx.Client, db: Database, settings: Settings, smtp: tuple[MailSink, str]
    ) -> None:
        reseller = new_reseller(db)
        ticket = file_ticket(client, reseller)
        add_event(
            db,
            ticket["number"],
            EventType.TICKET_STATUS_CHANGED,
            status="holding",
            message="Please send <script>alert(1)</script> a photo.",
        )
        assert queued(db, "send_email") == []  # nothing is sent inside the request or the change

        drain(db, settings)

        [mail] = mails(smtp[0])
        assert smtp[0].messages[0][0] == ["support@reseller.example"]
        assert mail["To"] == "support@reseller.example"
        assert mail["From"] == "tickets@supplier.example"
        assert mail["Subject"] == f"Ticket {ticket['id']}: now holding"
        text, html = parts(mail)
        assert "is now holding" in text
        assert "Please send <script>alert(1)</script> a photo." in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>" not in html
        assert "Agent &lt;b&gt;Smith&lt;/b&gt;" in html

    def test_staff_reply_mails_the_contact_and_a_resellers_does_not(
        self, client: httpx.Client, db: Database, settings: Settings, smtp: tuple[MailSink, str]
    ) -> None:
        reseller = new_reseller(db)
        ticket = file_ticket(client, reseller)
        add_event(db, ticket["number"], EventType.TICKET_MESSAGE_ADDED, message="We are checking with production.")
        add_event(db, ticket["number"], EventType.TICKET_MESSAGE_ADDED, message="Thanks!", by="reseller")

        drain(db, settings)

        [mail] = mails(smtp[0])
        assert mail["Subject"] == f"Ticket {ticket['id']}: a new reply"
        text, html = parts(mail)
        assert "We are checking with production." in text
        assert "We are checking with production." in html

    def test_a_status_change_quotes_only_its_own_message(
        self, client: httpx.Client, db: Database, settings: Settings, smtp: tuple[MailSink, str]
    ) -> None:
        reseller = new_reseller(db)
        ticket = file_ticket(client, reseller)
        add_event(db, ticket["number"], EventType.TICKET_MESSAGE_ADDED, message="An older reply.")
        add_event(db, ticket["number"], EventType.TICKET_STATUS_CHANGED, status="pending")

        drain(db, settings)

        reply, change = sorted(mails(smtp[0]), key=lambda m: str(m["Subject"]))
        assert change["Subject"] == f"Ticket {ticket['id']}: now pending"
        assert "An older reply." not in parts(change)[0]
        assert "An older reply." in parts(reply)[0]

    def test_a_change_the_reseller_caused_is_not_mailed_back(
        self, client: httpx.Client, db: Database, settings: Settings, smtp: tuple[MailSink, str]
    ) -> None:
        reseller = new_reseller(db)
        ticket = file_ticket(client, reseller)
        add_event(db, ticket["number"], EventType.TICKET_STATUS_CHANGED, status="holding")
        add_event(
            db,
            ticket["number"],
            EventType.TICKET_STATUS_CHANGED,
            status="pending",
            message="Photo sent.",
            by="reseller",
        )

        drain(db, settings)

        [mail] = mails(smtp[0])
        assert mail["Subject"] == f"Ticket {ticket['id']}: now holding"

    def test_a_new_ticket_sends_no_mail(
        self, client: httpx.Client, db: Database, settings: Settings, smtp: tuple[MailSink, str]
    ) -> None:
        reseller = new_reseller(db)
        file_ticket(client, reseller)
        drain(db, settings)
        assert smtp[0].messages == []


class TestDisabledEndpointMail:
    def test_the_account_is_told(
        self,
        client: httpx.Client,
        db: Database,
        settings: Settings,
        smtp: tuple[MailSink, str],
        receiver: Receiver,
    ) -> None:
        reseller = new_reseller(db)
        with db.transaction() as session:
            session.execute(
                sa.update(Account).where(Account.id == reseller.id).values(notify_email="ops@reseller.example")
            )
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["503"] * 5
        file_ticket(client, reseller)

        drain(db, settings.model_copy(update={"webhook_disable_after_seconds": 0}))

        [mail] = mails(smtp[0])
        assert mail["To"] == "ops@reseller.example"
        assert mail["Subject"] == f"Webhook endpoint {hook['id']} has been disabled"
        text, _html = parts(mail)
        assert f"{receiver.url}/hook" in text
        assert "answered 503" in text
