"""claimdesk_client.webhooks.verify: against signatures made by the ``standardwebhooks`` library, and against
real deliveries of the service (its worker, to a real receiver), through a secret rotation."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk_client import Event, WebhookVerificationFailed, webhooks
from tests.factories import Reseller
from tests.webhooks.support import Receiver, drain, file_ticket, register_webhook, running_receiver

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_" + "c2VjcmV0LW9mLXRoZS1vbGQta2V5LTEyMzQ1Ng=="


def event_body() -> str:
    ticket = {
        "id": "complaint-77",
        "number": 3,
        "order_id": "o-1",
        "supplier_order_number": 9,
        "reason": "damaged",
        "suggested_solution": "rework",
        "contact_email": "support@reseller.example",
        "status": "open",
        "products": [{"id": 17, "amount": 2, "files": []}],
        "created_at": "2026-12-01T11:59:00Z",
        "updated_at": "2026-12-01T11:59:00Z",
    }
    payload = {
        "type": "ticket.created",
        "timestamp": "2026-12-01T11:59:59Z",
        "data": {"event_id": 5, "sequence": 1, "ticket": ticket},
    }
    return json.dumps(payload, separators=(",", ":"))


def signed(body: str, *secrets: str, at: dt.datetime = NOW, message_id: str = "msg_5") -> dict[str, str]:
    """Headers as the reference library makes them, one signature per secret (a rotation signs with both)."""
    signatures = " ".join(Webhook(s).sign(message_id, at, body) for s in secrets)
    return {"Webhook-Id": message_id, "Webhook-Timestamp": str(int(at.timestamp())), "Webhook-Signature": signatures}


class TestVerify:
    def test_a_valid_delivery_gives_the_typed_event(self) -> None:
        body = event_body()
        event = webhooks.verify(signed(body, SECRET), body.encode(), SECRET, now=NOW)
        assert isinstance(event, Event)
        assert event.type == "ticket.created"
        assert event.data.ticket.id == "complaint-77"
        assert event.data.sequence == 1

    def test_during_a_rotation_either_secret_works(self) -> None:
        body = event_body()
        both = signed(body, SECRET, OLD_SECRET)
        assert webhooks.verify(both, body, SECRET, now=NOW).data.event_id == 5
        assert webhooks.verify(both, body, OLD_SECRET, now=NOW).data.event_id == 5
        only_old = signed(body, OLD_SECRET)
        assert webhooks.verify(only_old, body, [SECRET, OLD_SECRET], now=NOW).data.event_id == 5
        with pytest.raises(WebhookVerificationFailed):
            webhooks.verify(only_old, body, SECRET, now=NOW)

    @pytest.mark.parametrize("minutes", [-6, 6])
    def test_a_timestamp_outside_the_tolerance_is_refused(self, minutes: int) -> None:
        body = event_body()
        headers = signed(body, SECRET, at=NOW + dt.timedelta(minutes=minutes))
        with pytest.raises(WebhookVerificationFailed, match="tolerance"):
            webhooks.verify(headers, body, SECRET, now=NOW)
        assert webhooks.verify(headers, body, SECRET, now=NOW, tolerance=400).type == "ticket.created"

    def test_a_changed_body_or_id_is_refused(self) -> None:
        body = event_body()
        headers = signed(body, SECRET)
        with pytest.raises(WebhookVerificationFailed, match="signature"):
            webhooks.verify(headers, body.replace("complaint-77", "complaint-78"), SECRET, now=NOW)
        with pytest.raises(WebhookVerificationFailed, match="signature"):
            webhooks.verify({**headers, "Webhook-Id": "msg_6"}, body, SECRET, now=NOW)

    @pytest.mark.parametrize("header", ["Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"])
    def test_a_missing_header_is_refused(self, header: str) -> None:
        body = event_body()
        headers = signed(body, SECRET)
        del headers[header]
        with pytest.raises(WebhookVerificationFailed, match="Missing"):
            webhooks.verify(headers, body, SECRET, now=NOW)

    def test_malformed_signatures_are_refused_not_crashed_on(self) -> None:
        body = event_body()
        headers = signed(body, SECRET)
        for bad in ("v1,not base64!", "v2," + headers["Webhook-Signature"][3:], "garbage"):
            with pytest.raises(WebhookVerificationFailed):
                webhooks.verify({**headers, "Webhook-Signature": bad}, body, SECRET, now=NOW)
        with pytest.raises(WebhookVerificationFailed):
            webhooks.verify({**headers, "Webhook-Timestamp": "soon"}, body, SECRET, now=NOW)

    def test_a_signed_body_that_is_no_event(self) -> None:
        with pytest.raises(WebhookVerificationFailed, match="not a ticket event"):
            webhooks.verify(signed("{}", SECRET), "{}", SECRET, now=NOW)

    def test_sign_matches_the_reference_library(self) -> None:
        body = event_body()
        ours = webhooks.sign(SECRET, "msg_5", body)  # now: the reference library checks against the clock
        assert Webhook(SECRET).verify(body, ours) == json.loads(body)
        fixed = webhooks.sign(SECRET, "msg_5", body, timestamp=int(NOW.timestamp()))
        assert fixed == {k.lower(): v for k, v in signed(body, SECRET).items()}
        fresh = webhooks.new_secret()
        assert fresh.startswith("whsec_")
        assert webhooks.verify(webhooks.sign(fresh, "m", body), body, fresh).type == "ticket.created"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_private_urls": True, "retry_base_seconds": 0.001})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def test_real_deliveries_verify_through_a_rotation(
    client: httpx.Client, db: Database, settings: Settings, reseller: Reseller, receiver: Receiver
) -> None:
    hook: dict[str, Any] = register_webhook(client, reseller, f"{receiver.url}/hook", ["ticket.created"])
    ticket = file_ticket(client, reseller, callback_urls=[f"{receiver.url}/callback"])
    drain(db, settings)
    delivered = receiver.for_path("/hook")[0]
    event = webhooks.verify(delivered.headers, delivered.body, hook["secret"])
    assert event.type == "ticket.created"
    assert event.data.ticket.id == ticket["id"]
    callback = receiver.for_path("/callback")[0]
    assert webhooks.verify(callback.headers, callback.body, reseller.callback_secret).data.ticket.id == ticket["id"]
    with pytest.raises(WebhookVerificationFailed):
        webhooks.verify(callback.headers, callback.body, hook["secret"])

    rotated = client.post(f"/webhooks/{hook['id']}/rotate-secret", headers=reseller.headers)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    second = file_ticket(client, reseller)
    drain(db, settings)
    after = receiver.for_path("/hook")[-1]
    for secret in (new_secret, hook["secret"]):
        assert webhooks.verify(after.headers, after.body, secret).data.ticket.order_id == second["order_id"]
