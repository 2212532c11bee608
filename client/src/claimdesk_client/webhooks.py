"""Check the deliveries claimdesk makes to your webhook endpoints (Standard Webhooks).

::

    from claimdesk_client import webhooks

    event = webhooks.verify(request.headers, request.body, secret="whsec_...")

``verify`` checks the ``webhook-signature`` (HMAC-SHA256 over ``webhook-id``, ``webhook-timestamp`` and the
raw body) against your secret, or against each of several secrets (pass the new and the old one while a
secret is being rotated), refuses a ``webhook-timestamp`` more than ``tolerance`` seconds away from now
(a replayed delivery), and returns the typed event. Pass the body exactly as received, before any JSON
parsing: the signature is over its bytes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence

from ._exceptions import ClaimdeskError
from ._models import Event

__all__ = ["DEFAULT_TOLERANCE", "WebhookVerificationFailed", "new_secret", "sign", "verify"]

DEFAULT_TOLERANCE = 300  # seconds, as the Standard Webhooks reference libraries
_PREFIX = "whsec_"


class WebhookVerificationFailed(ClaimdeskError):
    """A delivery that must not be trusted: a header missing, no signature matching any secret, a timestamp
    outside the tolerance, or a body that is no event. Answer it with a 4xx and do not act on it."""


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        return secret
    raw = secret.removeprefix(_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from exc
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def _signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> bytes:
    return hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def sign(secret: str | bytes, message_id: str, body: str | bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for ``body``: what claimdesk sends, and what ``events follow
    --forward-to`` sends to a handler on your machine."""
    raw = body.encode() if isinstance(body, str) else body
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = base64.b64encode(_signature(_key(secret), message_id, stamp, raw)).decode()
    return {"webhook-id": message_id, "webhook-timestamp": stamp, "webhook-signature": f"v1,{digest}"}


def new_secret() -> str:
    """A fresh secret in the Standard Webhooks form (``whsec_`` and base64 of 24 random bytes)."""
    return _PREFIX + base64.b64encode(_secrets.token_bytes(24)).decode()


def verify(
    headers: Mapping[str, str],
    body: str | bytes,
    secret: str | bytes | Sequence[str | bytes],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: dt.datetime | None = None,
) -> Event:
    """The delivered event, once its signature and timestamp are checked; raises ``WebhookVerificationFailed``.

    ``secret`` is the endpoint's secret (or the account's ``callback_secret`` for orders' callback URLs);
    during a rotation pass both, new and old: a delivery signed with either is accepted.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    message_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (message_id and stamp and signatures):
        raise WebhookVerificationFailed("Missing webhook-id, webhook-timestamp or webhook-signature header.")
    try:
        sent_at = int(stamp)
    except ValueError:
        raise WebhookVerificationFailed("webhook-timestamp is not a Unix time in seconds.") from None
    current = (now or dt.datetime.now(dt.UTC)).timestamp()
    if abs(current - sent_at) > tolerance:
        raise WebhookVerificationFailed(
            f"webhook-timestamp is {current - sent_at:+.0f} s from now, outside the {tolerance:.0f} s tolerance."
        )
    raw = body.encode() if isinstance(body, str) else bytes(body)
    keys = [_key(s) for s in ([secret] if isinstance(secret, str | bytes) else secret)]
    expected = [_signature(key, message_id, stamp, raw) for key in keys]
    if not _matches(signatures, expected):
        raise WebhookVerificationFailed("No webhook-signature matches the secret.")
    try:
        return Event.model_validate(json.loads(raw))
    except ValueError as exc:
        raise WebhookVerificationFailed(f"The signed body is not a ticket event: {exc}") from None


def _matches(header: str, expected: list[bytes]) -> bool:
    found = False
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        # Compare against every secret, without stopping early: the time taken says nothing.
        for candidate in expected:
            found |= hmac.compare_digest(candidate, given)
    return found
