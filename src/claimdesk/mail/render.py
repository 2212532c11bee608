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

from claimdesk.rules.events import EventType

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


def _by_type(entry: dict[str, Any]) -> Any:
    return (entry.get("by") or {}).get("type")


def _last_change(ticket: dict[str, Any]) -> dict[str, Any] | None:
    changes = [h for h in ticket.get("history") or [] if h.get("action") == "status_changed"]
    return changes[-1] if changes else None


def ticket_template(event_type: str, ticket: dict[str, Any]) -> str | None:
    """The e-mail an event sends to the ticket's contact, if any: status changes and public staff replies.

    A status change the reseller caused itself (its reply to a holding ticket) is not mailed back to it.
    """
    if event_type == EventType.TICKET_STATUS_CHANGED:
        change = _last_change(ticket)
        return None if change is not None and _by_type(change) == "reseller" else STATUS_CHANGED
    if event_type == EventType.TICKET_MESSAGE_ADDED:
        messages = ticket.get("messages") or []
        if messages and _by_type(messages[-1]) == "staff":
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


def _reply(template: str, ticket: dict[str, Any]) -> dict[str, Any] | None:
    """The staff message the e-mail quotes: the new reply, or the message given with the status change."""
    staff_messages: list[dict[str, Any]] = [m for m in ticket.get("messages") or [] if _by_type(m) == "staff"]
    if not staff_messages:
        return None
    if template == STAFF_REPLY:
        return staff_messages[-1]
    change = _last_change(ticket)
    # A message given with a status change is written at the same instant as its history entry.
    if change is not None and staff_messages[-1].get("at") == change.get("at"):
        return staff_messages[-1]
    return None


def ticket_mail(template: str, ticket: dict[str, Any]) -> Mail:
    context = {
        "ticket": ticket,
        "ticket_id": str(ticket["id"]),
        "number": ticket["number"],
        "status": ticket["status"],
        "resolution": ticket.get("resolution"),
        "reply": _reply(template, ticket),
    }
    return render(template, ticket["contact_email"], context)
