"""One POST of a signed delivery, guarded: the URL is checked again right before the request and the
connection goes only to the addresses that were checked (``claimdesk.outbound``: a name cannot resolve
elsewhere in between), redirects are never followed, every step has a timeout, the whole attempt a deadline,
and the answer is not read past a small cap.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpcore
from standardwebhooks import Webhook

from claimdesk import __version__
from claimdesk.netguard import UrlNotAllowed, check_url
from claimdesk.outbound import header, pinned_pool

# Enough to show what an endpoint said; a huge answer is cut here, never read to its end.
RESPONSE_CAP_BYTES = 4096
ERROR_SNIPPET_CHARS = 200


@dataclass(frozen=True, slots=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def encode_body(payload: dict[str, Any]) -> str:
    """The exact text that is signed and sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def signature_header(secrets: Sequence[str], message_id: str, timestamp: dt.datetime, body: str) -> str:
    """``v1,<sig>`` for each secret, space-separated (Standard Webhooks), so a rotated secret keeps working."""
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)


def signed_headers(secrets: Sequence[str], message_id: str, body: str, now: dt.datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": f"claimdesk-webhooks/{__version__}",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature_header(secrets, message_id, now, body),
    }


def _snippet(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text[:ERROR_SNIPPET_CHARS]


def _read_capped(response: httpcore.Response) -> bytes:
    data = b""
    for chunk in response.iter_stream():
        data += chunk
        if len(data) >= RESPONSE_CAP_BYTES:
            break
    return data[:RESPONSE_CAP_BYTES]


def _describe(status: int, response: httpcore.Response, data: bytes) -> str | None:
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        location = header(response, b"location") or ""
        return f"answered {status}, a redirect to {location[:300] or '(no location)'}, which is not followed"
    snippet = _snippet(data)
    return f"answered {status}" + (f": {snippet}" if snippet else "")


def post(
    url: str, body: str, headers: dict[str, str], *, allow_private: bool, timeout: float, deadline: float
) -> AttemptResult:
    """POST ``body`` to ``url`` once; never raises for anything the endpoint or the network does.

    ``timeout`` bounds each step (connect, each read and write); ``deadline`` the whole attempt.
    """
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        addresses = check_url(url, allow_private=allow_private)
    except UrlNotAllowed as exc:
        return AttemptResult(None, elapsed(), f"url_not_allowed: {exc}")
    except (OSError, UnicodeError) as exc:
        return AttemptResult(None, elapsed(), f"could not resolve the host: {exc}")
    timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    pool = pinned_pool(addresses, deadline=started + deadline)
    try:
        with (
            pool,
            pool.stream(
                "POST",
                url,
                headers=list(headers.items()),
                content=body.encode("utf-8"),
                extensions={"timeout": timeouts},
            ) as response,
        ):
            status = response.status
            latency = elapsed()
            data = _read_capped(response)
    except httpcore.TimeoutException as exc:
        return AttemptResult(None, elapsed(), f"timed out after {elapsed() / 1000:.1f} s ({type(exc).__name__})")
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        return AttemptResult(None, elapsed(), f"{type(exc).__name__}: {exc}"[:500])
    return AttemptResult(status, latency, _describe(status, response, data))
