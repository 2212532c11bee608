"""Webhook endpoints, and the fan-out of ticket events into deliveries.

An event becomes one delivery per receiver (each subscribed endpoint of the account, each callback URL of
the ticket's order), each delivered by a job of its own, so that a slow receiver never holds up another.
Services flush and never commit; the request or the job commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.accounts.service import Actor, new_webhook_secret
from claimdesk.events.service import event_view
from claimdesk.exceptions import Conflict, NotFound, ValidationFailed
from claimdesk.jobs import JobName, enqueue
from claimdesk.mail.render import WEBHOOK_DISABLED, ticket_template
from claimdesk.models import (
    Account,
    Event,
    EventDispatch,
    Order,
    Ticket,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from claimdesk.netguard import url_problems
from claimdesk.rules.codes import Code
from claimdesk.rules.fields import as_id
from claimdesk.rules.problems import Problem
from claimdesk.timefmt import rfc3339
from claimdesk.validation import parse

from .delivery import AttemptResult
from .schemas import WebhookIn

MAX_ENDPOINTS = 20
# After a rotation the old secret keeps signing for this long.
ROTATION_OVERLAP = dt.timedelta(hours=24)
TEST_EVENT = "webhook.test"


# --- endpoints ---------------------------------------------------------------------------------------------


def _url_rules(url: str, *, allow_private_urls: bool) -> list[Problem]:
    if urlsplit(url).scheme.lower() != "https" and not allow_private_urls:
        return [Problem("url", Code.INVALID_URI, "url must be an https URL; deliveries carry your tickets.")]
    return url_problems([("url", url)], allow_private=allow_private_urls)


def create_endpoint(session: Session, actor: Actor, body: Any, *, allow_private_urls: bool) -> WebhookEndpoint:
    """Register an endpoint; its secret is in the answer, the only time it is shown."""
    assert actor.id is not None
    parsed, problems = parse(WebhookIn, body)
    if parsed is not None:
        problems += _url_rules(parsed.url, allow_private_urls=allow_private_urls)
    if problems or parsed is None:
        raise ValidationFailed(problems)
    count = session.scalar(sa.select(sa.func.count()).where(WebhookEndpoint.account_id == actor.id)) or 0
    if count >= MAX_ENDPOINTS:
        raise Conflict(f"An account has at most {MAX_ENDPOINTS} webhook endpoints; delete one first.")
    endpoint = WebhookEndpoint(
        account_id=actor.id,
        url=parsed.url,
        events=list(dict.fromkeys(e.value for e in parsed.events)),
        secret=new_webhook_secret(),
        created_at=utcnow(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def list_endpoints(session: Session, account_id: int) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            sa.select(WebhookEndpoint).where(WebhookEndpoint.account_id == account_id).order_by(WebhookEndpoint.id)
        )
    )


# What the account owns and a path names by id.
Owned = TypeVar("Owned", WebhookEndpoint, WebhookDelivery)


def _owned(session: Session, model: type[Owned], account_id: int, text: str, *, for_update: bool, name: str) -> Owned:
    """The account's row of ``model`` with the id in ``text``; an id that is none, or another account's row,
    is ``NotFound`` (the same answer: nobody learns what other accounts have)."""
    key = as_id(text)
    found = None
    if key is not None:
        query = sa.select(model).where(model.id == key, model.account_id == account_id)
        found = session.scalar(query.with_for_update() if for_update else query)
    if found is None:
        raise NotFound(f"{name} '{text[:64]}' not found.")
    return found


def get_endpoint(session: Session, account_id: int, webhook_id: str, *, for_update: bool = False) -> WebhookEndpoint:
    """One of the account's endpoints."""
    return _owned(session, WebhookEndpoint, account_id, webhook_id, for_update=for_update, name="Webhook endpoint")


def delete_endpoint(session: Session, account_id: int, webhook_id: str) -> None:
    """Delete an endpoint with its deliveries; deliveries still queued for it are dropped."""
    endpoint = get_endpoint(session, account_id, webhook_id, for_update=True)
    session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.flush()


def rotate_secret(session: Session, account_id: int, webhook_id: str) -> WebhookEndpoint:
    """A new secret; the old one keeps signing (as a second signature) for 24 hours."""
    endpoint = get_endpoint(session, account_id, webhook_id, for_update=True)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = utcnow() + ROTATION_OVERLAP
    endpoint.secret = new_webhook_secret()
    session.flush()
    return endpoint


def enable_endpoint(session: Session, account_id: int, webhook_id: str) -> WebhookEndpoint:
    endpoint = get_endpoint(session, account_id, webhook_id, for_update=True)
    endpoint.disabled_at = None
    endpoint.failing_since = None
    session.flush()
    return endpoint


def _new_delivery(
    session: Session,
    *,
    account_id: int,
    kind: str,
    target: str,
    url: str,
    event_type: str,
    event_id: int | None = None,
    endpoint_id: int | None = None,
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        account_id=account_id,
        event_id=event_id,
        endpoint_id=endpoint_id,
        kind=kind,
        target=target,
        url=url,
        event_type=event_type,
        state="pending",
        attempts=0,
        created_at=utcnow(),
    )
    session.add(delivery)
    session.flush()
    enqueue(session, JobName.DELIVER_WEBHOOK, delivery.id)
    return delivery


def send_test(session: Session, account_id: int, webhook_id: str) -> WebhookDelivery:
    """Queue a ``webhook.test`` delivery to the endpoint, signed like every other."""
    endpoint = get_endpoint(session, account_id, webhook_id)
    if endpoint.disabled_at is not None:
        raise Conflict(f"Webhook endpoint {endpoint.id} is disabled; enable it first.")
    return _new_delivery(
        session,
        account_id=account_id,
        kind="test",
        target=f"test:{endpoint.id}",
        url=endpoint.url,
        event_type=TEST_EVENT,
        endpoint_id=endpoint.id,
    )


@dataclass(frozen=True)
class DeliveryRecord:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def _with_attempts(session: Session, deliveries: list[WebhookDelivery]) -> list[DeliveryRecord]:
    attempts: dict[int, list[WebhookAttempt]] = {d.id: [] for d in deliveries}
    if deliveries:
        rows = session.scalars(
            sa.select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
        )
        for attempt in rows:
            attempts[attempt.delivery_id].append(attempt)
    return [DeliveryRecord(d, attempts[d.id]) for d in deliveries]


def list_deliveries(session: Session, account_id: int, webhook_id: str | None, limit: int) -> list[DeliveryRecord]:
    """Newest first: one endpoint's deliveries, or (``webhook_id`` None) all of the account's, callbacks too."""
    query = sa.select(WebhookDelivery).where(WebhookDelivery.account_id == account_id)
    if webhook_id is not None:
        endpoint = get_endpoint(session, account_id, webhook_id)
        query = query.where(WebhookDelivery.endpoint_id == endpoint.id)
    deliveries = list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))
    return _with_attempts(session, deliveries)


def get_delivery(session: Session, account_id: int, delivery_id: str, *, for_update: bool = False) -> WebhookDelivery:
    """One of the account's deliveries, to an endpoint or a callback URL."""
    return _owned(session, WebhookDelivery, account_id, delivery_id, for_update=for_update, name="Delivery")


def redeliver(session: Session, account_id: int, delivery_id: str) -> DeliveryRecord:
    """Send a finished delivery again (same body, same ``webhook-id``), with a fresh round of retries."""
    delivery = get_delivery(session, account_id, delivery_id, for_update=True)
    if delivery.state == "pending":
        raise Conflict(f"Delivery {delivery.id} is still being delivered.")
    if delivery.endpoint_id is not None:
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is not None and endpoint.disabled_at is not None:
            raise Conflict(f"Webhook endpoint {endpoint.id} is disabled; enable it first.")
    delivery.state = "pending"
    delivery.finished_at = None
    session.flush()
    enqueue(session, JobName.DELIVER_WEBHOOK, delivery.id)
    return _with_attempts(session, [delivery])[0]


# --- fan-out -----------------------------------------------------------------------------------------------


def _callback_target(url: str) -> str:
    return "callback:" + hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def dispatch_event(session: Session, event_id: int, *, send_email: bool) -> int:
    """Fan the event out into deliveries (and an e-mail to the ticket's contact); how many deliveries.

    Safe to run twice: the dispatch marker (and the unique event and target of each delivery) make the
    second run do nothing.
    """
    event = session.scalar(sa.select(Event).where(Event.id == event_id).with_for_update())
    if event is None or session.get(EventDispatch, event_id) is not None:
        return 0
    targets: list[tuple[str, str, str, int | None]] = []
    endpoints = session.scalars(
        sa.select(WebhookEndpoint)
        .where(WebhookEndpoint.account_id == event.account_id, WebhookEndpoint.disabled_at.is_(None))
        .order_by(WebhookEndpoint.id)
    )
    for endpoint in endpoints:
        if event.type in endpoint.events:
            targets.append(("endpoint", f"endpoint:{endpoint.id}", endpoint.url, endpoint.id))
    order = session.scalar(
        sa.select(Order).join(Ticket, Ticket.order_id == Order.id).where(Ticket.id == event.ticket_id)
    )
    for url in dict.fromkeys(order.callback_urls if order is not None else []):
        targets.append(("callback", _callback_target(url), url, None))
    existing = set(session.scalars(sa.select(WebhookDelivery.target).where(WebhookDelivery.event_id == event.id)))
    created = 0
    for kind, target, url, endpoint_id in targets:
        if target in existing:
            continue
        _new_delivery(
            session,
            account_id=event.account_id,
            kind=kind,
            target=target,
            url=url,
            event_type=event.type,
            event_id=event.id,
            endpoint_id=endpoint_id,
        )
        created += 1
    template = ticket_template(event.type, event.ticket)
    if send_email and template is not None:
        enqueue(session, JobName.SEND_EMAIL, event.id, {"template": template})
    session.add(EventDispatch(event_id=event.id, dispatched_at=utcnow()))
    session.flush()
    return created


# --- delivering --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """What one attempt sends: where, the body, the secrets that sign it, and its stable message id."""

    delivery_id: int
    url: str
    message_id: str
    payload: dict[str, Any]
    secrets: list[str]


def _payload(delivery: WebhookDelivery, event: Event | None) -> dict[str, Any]:
    if event is None:
        return {
            "type": TEST_EVENT,
            "timestamp": rfc3339(delivery.created_at),
            "data": {"webhook_id": delivery.endpoint_id, "message": "A test delivery from claimdesk."},
        }
    view = event_view(event)
    return {"type": view["type"], "timestamp": view["timestamp"], "data": view["data"]}


def outgoing(session: Session, delivery_id: int) -> Outgoing | str | None:
    """The next attempt of a pending delivery; a reason when it can no longer be sent; None when done."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.state != "pending":
        return None
    event = session.get(Event, delivery.event_id) if delivery.event_id is not None else None
    if delivery.endpoint_id is not None:
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None:
            return "the endpoint was deleted"
        if endpoint.disabled_at is not None:
            return "the endpoint is disabled"
        secrets = [endpoint.secret]
        expires = endpoint.previous_secret_expires_at
        if endpoint.previous_secret and expires is not None and expires > utcnow():
            secrets.append(endpoint.previous_secret)
        url = endpoint.url
    else:
        account = session.get(Account, delivery.account_id)
        assert account is not None
        secrets = [account.callback_secret]
        url = delivery.url
    # One id per message, the same on every attempt and redelivery, so receivers can drop repeats.
    message_id = f"msg_{delivery.event_id}" if delivery.event_id is not None else f"msg_test_{delivery.id}"
    return Outgoing(delivery.id, url, message_id, _payload(delivery, event), secrets)


def record_attempt(
    session: Session,
    delivery_id: int,
    result: AttemptResult,
    *,
    disable_after: dt.timedelta,
    notify: bool,
    last: bool = False,
) -> None:
    """Keep the attempt, settle the delivery on success, and track the endpoint's health.

    An endpoint that has failed every attempt for ``disable_after`` is disabled, and (``notify``) the
    account is told by e-mail. After the ``last`` attempt a failed delivery is failed for good.
    """
    delivery = session.scalar(sa.select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update())
    if delivery is None:
        return
    now = utcnow()
    delivery.attempts += 1
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            number=delivery.attempts,
            at=now,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error[:500] if result.error else None,
        )
    )
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error[:500] if result.error else None
    if result.ok:
        delivery.state = "delivered"
        delivery.finished_at = now
    elif last:
        delivery.state = "failed"
        delivery.finished_at = now
    if delivery.endpoint_id is not None:
        endpoint = session.scalar(
            sa.select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id).with_for_update()
        )
        if endpoint is not None:
            _track_health(session, endpoint, result, now, disable_after=disable_after, notify=notify)
    session.flush()


def _track_health(
    session: Session,
    endpoint: WebhookEndpoint,
    result: AttemptResult,
    now: dt.datetime,
    *,
    disable_after: dt.timedelta,
    notify: bool,
) -> None:
    if result.ok:
        endpoint.failing_since = None
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    if endpoint.disabled_at is None and now - endpoint.failing_since >= disable_after:
        endpoint.disabled_at = now
        account = session.get(Account, endpoint.account_id)
        if notify and account is not None and account.notify_email:
            enqueue(session, JobName.SEND_EMAIL, endpoint.id, {"template": WEBHOOK_DISABLED})


def finish(session: Session, delivery_id: int, reason: str) -> None:
    """The delivery failed for good (its last attempt failed, or it can no longer be sent)."""
    delivery = session.scalar(sa.select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update())
    if delivery is None or delivery.state != "pending":
        return
    delivery.state = "failed"
    delivery.finished_at = utcnow()
    delivery.last_error = reason[:500]
    session.flush()
