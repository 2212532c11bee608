"""The transport of outgoing HTTP on its own: it connects only to the addresses it is given, tries the next
one when connecting fails, and ends every read at the attempt's deadline."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpcore
import pytest

from claimdesk.outbound import PinnedBackend, header, pinned_pool

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Test: yes\r\nConnection: close\r\n\r\nok"


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 only (127.0.0.2, also loopback, refuses) that answers one HTTP request per
    connection after ``delay`` seconds; what it received is kept."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                data = connection.recv(65536)
                if not data:  # connected, asked nothing
                    continue
                received.append(data)
                if b"/slow" in data:
                    time.sleep(1.5)
                with contextlib.suppress(OSError):  # the client may have given up by now
                    connection.sendall(ANSWER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port, received
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_connects_to_the_given_address_with_the_url_host(listener: tuple[int, list[bytes]]) -> None:
    port, received = listener
    # no-such-host.invalid resolves nowhere: the request can only have gone to the address given.
    with pinned_pool(["127.0.0.1"], deadline=time.monotonic() + 5) as pool:
        response = pool.request("GET", f"http://no-such-host.invalid:{port}/photo")
    assert (response.status, response.content, header(response, b"x-test")) == (200, b"ok", "yes")
    assert f"Host: no-such-host.invalid:{port}".encode() in received[0]


def test_the_next_address_when_one_refuses(listener: tuple[int, list[bytes]]) -> None:
    port, _received = listener
    backend = PinnedBackend(["127.0.0.2", "127.0.0.1"], time.monotonic() + 5)
    backend.connect_tcp("photos.example", port, timeout=2).close()
    with pytest.raises(httpcore.ConnectError):
        PinnedBackend(["127.0.0.2"], time.monotonic() + 5).connect_tcp("photos.example", port, timeout=2)


def test_nothing_is_tried_after_the_deadline(listener: tuple[int, list[bytes]]) -> None:
    port, received = listener
    with pytest.raises(httpcore.ConnectTimeout):
        PinnedBackend(["127.0.0.1"], time.monotonic() - 1).connect_tcp("photos.example", port, timeout=2)
    assert received == []


def test_a_read_ends_at_the_deadline_not_at_its_own_timeout(listener: tuple[int, list[bytes]]) -> None:
    port, _received = listener
    started = time.monotonic()
    with (
        pinned_pool(["127.0.0.1"], deadline=started + 0.4) as pool,
        pytest.raises(httpcore.ReadTimeout),
    ):
        pool.request("GET", f"http://photos.example:{port}/slow", extensions={"timeout": {"read": 10}})
    assert time.monotonic() - started < 1.2
