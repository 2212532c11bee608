"""Downloading an evidence file from a reseller's URL, as carefully as a URL from strangers deserves.

- The address is checked (``netguard``) right before connecting, and the connection goes to exactly the
  address that was checked, with the original ``Host`` header and, for HTTPS, the original name as SNI and
  for the certificate check (``claimdesk.outbound``, the transport webhook deliveries use too). A name that
  resolves to a public address at the check and to 127.0.0.1 a moment later (DNS rebinding) therefore
  cannot reach 127.0.0.1.
- Redirects are followed by hand, at most ``MAX_REDIRECTS``, each hop checked again.
- Connect and read timeouts, plus a deadline for the whole download (a host sending a byte at a time).
- The size cap is enforced while streaming: the download stops at the first byte past it.
- No proxies from the environment (they would connect elsewhere than to the checked address), and no
  content decoding (``Accept-Encoding: identity``; a compressed body is not what was asked for).
"""

from __future__ import annotations

import hashlib
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import httpcore
import httpx

from claimdesk import __version__
from claimdesk.config import Settings
from claimdesk.netguard import UrlNotAllowed
from claimdesk.outbound import header, pinned_pool

MAX_REDIRECTS = 3
_REDIRECTS = {301, 302, 303, 307, 308}
_MAX_ADDRESSES = 3
_HEADERS = [
    (b"User-Agent", f"claimdesk/{__version__} (evidence file fetcher)".encode()),
    (b"Accept-Encoding", b"identity"),
    (b"Accept", b"image/*, application/pdf"),
]

# Checks a URL and gives the addresses it may be fetched from (empty: connect by name, private addresses
# allowed); raises UrlNotAllowed, or OSError when the name does not resolve. ``netguard.check_url``.
Guard = Callable[[str], list[str]]


class FetchError(Exception):
    """Why a download failed, in words for the reseller; ``transient`` ones are worth another try."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


def _transient(message: str) -> FetchError:
    return FetchError(message, transient=True)


def _permanent(message: str) -> FetchError:
    return FetchError(message, transient=False)


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int
    connect_timeout: float
    read_timeout: float
    deadline: float

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchLimits:
        return cls(
            max_bytes=settings.max_file_bytes,
            connect_timeout=settings.file_connect_timeout_seconds,
            read_timeout=settings.file_read_timeout_seconds,
            deadline=settings.file_fetch_deadline_seconds,
        )


@dataclass
class Fetched:
    """The downloaded bytes (a temporary file, at position 0; close it), their size and SHA-256."""

    body: IO[bytes]
    size: int
    sha256: str
    url: str


def describe_size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    return f"{limit:,} bytes"


def fetch(url: str, *, limits: FetchLimits, guard: Guard, verify: ssl.SSLContext | bool = True) -> Fetched:
    """Download ``url``; raises ``FetchError``. ``verify``: the TLS trust (default: certifi's CAs)."""
    deadline = time.monotonic() + limits.deadline
    try:
        current = httpx.URL(url)
    except httpx.InvalidURL:
        raise _permanent("not a valid URL") from None
    context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
    for _hop in range(MAX_REDIRECTS + 1):
        outcome = _get(current, _addresses(current, guard), limits, deadline, context)
        if isinstance(outcome, Fetched):
            return outcome
        current = outcome
    raise _permanent(f"too many redirects (more than {MAX_REDIRECTS})")


def _addresses(url: httpx.URL, guard: Guard) -> list[str]:
    if url.scheme not in ("http", "https"):
        raise _permanent(f"only http and https URLs can be fetched, not {url.scheme}")
    if not url.host:
        raise _permanent("not a valid URL (no host)")
    try:
        addresses = guard(str(url))
    except UrlNotAllowed as exc:
        raise _permanent(f"address not allowed: {exc}") from None
    except (OSError, UnicodeError):
        raise _transient(f"host not found: {url.host}") from None
    # A few addresses at most: each may cost a connect timeout, and the whole job must end within its lease.
    return addresses[:_MAX_ADDRESSES]


def _get(
    url: httpx.URL, addresses: list[str], limits: FetchLimits, deadline: float, context: ssl.SSLContext
) -> Fetched | httpx.URL:
    """One hop: the file, or the URL it redirects to."""
    timeouts = {
        "connect": limits.connect_timeout,
        "read": limits.read_timeout,
        "write": limits.read_timeout,
        "pool": limits.connect_timeout,
    }
    target = httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
    headers = [(b"Host", url.netloc), *_HEADERS]
    try:
        with (
            pinned_pool(addresses, deadline=deadline, ssl_context=context) as pool,
            pool.stream("GET", target, headers=headers, extensions={"timeout": timeouts}) as response,
        ):
            return _answer(response, url, limits, deadline)
    except httpcore.ConnectTimeout:
        raise _transient("timed out connecting to the host") from None
    except httpcore.ConnectError as exc:
        raise _transient(f"could not connect to the host ({_text(exc)})") from None
    except httpcore.TimeoutException:  # before the answer began (the body's own timeouts: ``_read_body``)
        raise _transient("timed out waiting for the host") from None
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        raise _transient(f"the connection to the host failed ({_text(exc)})") from None


def _answer(response: httpcore.Response, url: httpx.URL, limits: FetchLimits, deadline: float) -> Fetched | httpx.URL:
    status = response.status
    if status in _REDIRECTS:
        location = header(response, b"location")
        if not location:
            raise _permanent(f"a redirect (HTTP {status}) without a Location")
        try:
            return url.join(location)
        except httpx.InvalidURL:
            raise _permanent(f"a redirect (HTTP {status}) to an invalid URL") from None
    if status in (404, 410):
        raise _permanent(f"not found (HTTP {status})")
    if status in (408, 425, 429) or status >= 500:
        raise _transient(f"the host answered HTTP {status}")
    if status != 200:
        raise _permanent(f"the host refused it (HTTP {status})")
    length = header(response, b"content-length") or ""
    if length.isdigit() and int(length) > limits.max_bytes:
        raise _too_large(limits)
    return _read_body(response, url, limits, deadline)


def _too_large(limits: FetchLimits) -> FetchError:
    return _permanent(f"too large (over the {describe_size(limits.max_bytes)} limit)")


def _read_body(response: httpcore.Response, url: httpx.URL, limits: FetchLimits, deadline: float) -> Fetched:
    too_long = f"timed out (the download took longer than {limits.deadline:g} s)"
    body = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 (handed to the caller, who closes it)
    try:
        digest = hashlib.sha256()
        size = 0
        # Each read as it arrives; every read also ends at the deadline (``outbound.DeadlineStream``).
        for chunk in response.iter_stream():
            size += len(chunk)
            if size > limits.max_bytes:
                raise _too_large(limits)
            if time.monotonic() > deadline:
                raise _transient(too_long)
            digest.update(chunk)
            body.write(chunk)
        body.seek(0)
    except httpcore.TimeoutException:
        body.close()
        raise _transient(too_long if time.monotonic() >= deadline else "timed out waiting for the host") from None
    except BaseException:
        body.close()
        raise
    return Fetched(body=body, size=size, sha256=digest.hexdigest(), url=str(url))


def _text(exc: Exception) -> str:
    return (str(exc).strip() or type(exc).__name__)[:200]
