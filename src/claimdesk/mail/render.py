"""E-mail messages: which ticket events mail the ticket's contact, and the text of each message.

Templates live in ``templates/mail/`` as ``<name>.txt`` and ``<name>.html``; HTML is autoescaped, so text
from tickets (descriptions, replies) can never inject markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from functools import lru_cache
from typing import Any

import jinja2

STATUS_CHANGED = "ticket_status_changed"
STAFF_REPLY = "ticket_staff_reply"
WEBHOOK_DISABLED = "webhook_disabled"

SUBJECTS = {
    STATUS_CHANGED: "Ticket {ticket_id}: now {status}",
    STAFF_REPLY: "Ticket {ticket_id}: a new reply",
    WEBHOOK_DISABLED: "Webhook endpoint {webhook_id} has been disabled",
}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("claimdesk", "templates/mail"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def ticket_template(event_type: str, ticket: dict[str, Any]) -> str | None:
    """The e-mail an event sends to the ticket's contact, if any: status changes and public staff replies."""
    if event_type == "ticket.status_changed":
        return STATUS_CHANGED
    if event_type == "ticket.message_added":
        messages = ticket.get("messages") or []
        if messages and (messages[-1].get("by") or {}).get("type") == "staff":
            return STAFF_REPLY
    return None


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str

    def message(self, sender: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message


def render(template: str, to: str, context: dict[str, Any]) -> Mail:
    env = environment()
    subject = SUBJECTS[template].format(**{k: v for k, v in context.items() if isinstance(v, str | int)})
    return Mail(
        to=to,
        subject=subject,
        text=env.get_template(f"{template}.txt").render(context),
        html=env.get_template(f"{template}.html").render(context),
    )


def ticket_mail(template: str, ticket: dict[str, Any]) -> Mail:
    messages = ticket.get("messages") or []
    staff_messages = [m for m in messages if (m.get("by") or {}).get("type") == "staff"]
    context = {
        "ticket": ticket,
        "ticket_id": str(ticket["id"]),
        "number": ticket["number"],
        "status": ticket["status"],
        "resolution": ticket.get("resolution"),
        "reply": staff_messages[-1] if staff_messages else None,
    }
    return render(template, ticket["contact_email"], context)
