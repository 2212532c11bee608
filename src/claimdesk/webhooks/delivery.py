"""One POST of a signed delivery, guarded: the URL is checked again right before the request and the
connection goes only to the addresses that were checked (a name cannot resolve elsewhere in between),
redirects are never followed, every step has a timeout and the answer is not read past a small cap.

httpcore (the transport under httpx) is used directly because it lets us choose the connected address
through its network backend, while TLS still checks the certificate of the URL's host name.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
from standardwebhooks import Webhook

from claimdesk import __version__
from claimdesk.netguard import UrlNotAllowed, check_url

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


class DeadlineStream(httpcore.NetworkStream):
    """Every read and write waits at most until the attempt's deadline, so an endpoint that answers a
    byte at a time cannot hold a worker thread (and outlive the job's lease) with per-read timeouts."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self.stream = stream
        self.deadline = deadline

    def _left(self, timeout: float | None, error: type[httpcore.TimeoutException]) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise error("the attempt's deadline passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = self._left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, left), self.deadline)

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


class PinnedBackend(httpcore.SyncBackend):
    """Connects only to the given addresses (those the guard checked); none given: to the host itself."""

    def __init__(self, addresses: Sequence[str], deadline: float) -> None:
        self.addresses = list(addresses)
        self.deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._connect(host, port, timeout, local_address, socket_options)
        return DeadlineStream(stream, self.deadline)

    def _connect(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if not self.addresses:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        last: Exception | None = None
        for address in self.addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last


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
        location = {k.lower(): v for k, v in response.headers}.get(b"location", b"").decode("latin-1")
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
    pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        network_backend=PinnedBackend(addresses, started + deadline),
        max_connections=1,
    )
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
