"""The ``send_email`` job: renders the message from what is stored now and hands it to the SMTP server."""

from __future__ import annotations

import smtplib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk import jobs
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.models import Account, Event, WebhookDelivery, WebhookEndpoint
from claimdesk.timefmt import rfc3339

from . import smtp
from .render import WEBHOOK_DISABLED, Mail, render, ticket_mail

MAX_ATTEMPTS = 8


def compose(session: Session, template: str, ref_id: int) -> Mail | None:
    """The message for ``template`` about ``ref_id`` (an event, or an endpoint); None when gone."""
    if template == WEBHOOK_DISABLED:
        endpoint = session.get(WebhookEndpoint, ref_id)
        account = session.get(Account, endpoint.account_id) if endpoint is not None else None
        if endpoint is None or account is None or not account.notify_email:
            return None
        context: dict[str, Any] = {
            "account_name": account.name,
            "webhook_id": endpoint.id,
            "url": endpoint.url,
            "failing_since": rfc3339(endpoint.failing_since) if endpoint.failing_since else "recently",
            "last_error": session.scalar(
                sa.select(WebhookDelivery.last_error)
                .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.last_error.is_not(None))
                .order_by(WebhookDelivery.id.desc())
                .limit(1)
            ),
        }
        return render(template, account.notify_email, context)
    event = session.get(Event, ref_id)
    if event is None:
        return None
    return ticket_mail(template, event.ticket)


def run_send_email(db: Database, settings: Settings, job: jobs.JobRef) -> None:
    if settings.smtp_url is None:
        raise jobs.Fail("CLAIMDESK_SMTP_URL is not set")
    mail = db.read(compose, str(job.payload.get("template")), job.ref_id)
    if mail is None:
        return
    try:
        smtp.send(settings.smtp_url, mail.message(settings.smtp_from))
    except smtp.SmtpUrlError as exc:
        raise jobs.Fail(str(exc)) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise jobs.Fail(f"the SMTP server refused the recipient: {exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise jobs.Retry(f"{type(exc).__name__}: {exc}") from exc


def register_jobs() -> None:
    jobs.register(jobs.JobName.SEND_EMAIL, jobs.JobKind(run_send_email, max_attempts=lambda _s: MAX_ATTEMPTS))
