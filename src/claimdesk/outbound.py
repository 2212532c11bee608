"""Outgoing HTTP to addresses the guard checked: the one transport of the file fetcher and of webhook deliveries.

``netguard.check_url`` says which addresses a URL's host may be reached at; a connection made here goes to
exactly those (a name that resolves to a public address at the check and to 127.0.0.1 a moment later, DNS
rebinding, cannot reach 127.0.0.1), while the request keeps the URL's host for ``Host``, SNI and the
certificate check. Every read and write also stops at the whole attempt's deadline, so a host that answers a
byte at a time cannot hold a worker thread (and outlive its job's lease) with per-read timeouts.

httpcore (the transport under httpx) is used directly because its network backend chooses the connected
address; it reads no proxy settings from the environment and decodes no content, as both callers want.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import httpx


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most until ``deadline`` (``time.monotonic``)."""

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
    """Connects only to the given addresses (those the guard checked), the next one only when connecting to
    one fails or times out; none given (private addresses allowed): to the host by name."""

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
        last: Exception | None = None
        for address in self.addresses or [host]:
            left = self.deadline - time.monotonic()
            if left <= 0:
                break
            try:
                stream = super().connect_tcp(
                    address, port, left if timeout is None else min(timeout, left), local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            return DeadlineStream(stream, self.deadline)
        raise last or httpcore.ConnectTimeout("the attempt's deadline passed")


def pinned_pool(
    addresses: Sequence[str], *, deadline: float, ssl_context: ssl.SSLContext | None = None
) -> httpcore.ConnectionPool:
    """A pool for one request to a host the guard checked: ``addresses`` are what it gave (empty: connect by
    name), ``deadline`` ends the whole request, ``ssl_context`` is the TLS trust (default: certifi's CAs)."""
    return httpcore.ConnectionPool(
        ssl_context=ssl_context if ssl_context is not None else httpx.create_ssl_context(),
        network_backend=PinnedBackend(addresses, deadline),
        max_connections=1,
    )


def header(response: httpcore.Response, name: bytes) -> str | None:
    """The first value of a response header (``name`` in lower case), as text."""
    for key, value in response.headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
