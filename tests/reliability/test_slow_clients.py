"""Slow clients against a real ``claimdesk serve`` on 127.0.0.1, over raw sockets: headers or a body sent a byte
at a time, and connections that say nothing, are cut off after their deadline (1 s here, by settings), and
the server answers everyone else meanwhile."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from .guardkit import Served, bearer, cli_json, environment, fresh_database, serving

DEADLINE = "1"  # seconds, for the headers, the body and idle kept-alive connections
BYTE_EVERY = 0.2  # seconds between the bytes of a slow client (a deadline passes after about 5 of them)
MOST_BYTES = 100  # a slow client that was never cut off gives up after this many


@dataclass(frozen=True)
class Slow:
    served: Served
    key: str  # an account's API key


@pytest.fixture(scope="module")
def slow_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slow]:
    folder = tmp_path_factory.mktemp("slow")
    env = environment(
        fresh_database(request, "sqlite", folder),
        folder,
        request_head_timeout_seconds=DEADLINE,
        request_body_timeout_seconds=DEADLINE,
        keep_alive_seconds=DEADLINE,
    )
    key = cli_json(env, "account", "create", "Slow Reseller")["api_key"]
    with serving(env, folder / "serve.log", "--no-worker") as running:
        yield Slow(running, key)


@pytest.fixture
def served(slow_server: Slow) -> Served:
    return slow_server.served


@pytest.fixture
def key(slow_server: Slow) -> str:
    return slow_server.key


def connect(served: Served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.port), timeout=10)


def trickle(sock: socket.socket, byte: bytes, others: Served | None = None, *, past_answer: bool = False) -> int:
    """Send ``byte`` every BYTE_EVERY seconds until the server answers or closes (``past_answer``: until it
    closes); meanwhile (when ``others`` is given) another client is answered at once. Returns how many bytes
    went out."""
    for sent in range(MOST_BYTES):
        try:
            sock.sendall(byte)
        except (BrokenPipeError, ConnectionResetError):
            return sent
        if others is not None and sent < 3:
            assert httpx.get(others.url + "/login", timeout=5).status_code == 200
        time.sleep(BYTE_EVERY)
        if not past_answer and _closed_or_answered(sock):
            return sent + 1
    return MOST_BYTES


def _closed_or_answered(sock: socket.socket) -> bool:
    sock.settimeout(0)
    try:
        return sock.recv(1, socket.MSG_PEEK) is not None
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        sock.settimeout(10)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def head_and_body(answer: bytes) -> tuple[bytes, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


class TestSlowHeaders:
    def test_trickled_headers_are_cut_off_with_408_while_others_are_answered(self, served: Served) -> None:
        with connect(served) as slow:
            slow.sendall(b"GET /reasons HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            sent = trickle(slow, b"a", others=served)
            assert sent < MOST_BYTES  # cut off, not given up
            head, body = head_and_body(read_all(slow))
        assert head.startswith(b"HTTP/1.1 408 ")
        assert b"connection: close" in head.lower()
        assert "too slowly" in json.loads(body)["error"]

    def test_connections_that_say_nothing_are_closed(self, served: Served) -> None:
        silent = [connect(served) for _ in range(20)]
        try:
            for _ in range(3):  # everyone else is answered while they hang there
                assert httpx.get(served.url + "/login", timeout=5).status_code == 200
            for sock in silent:
                head, _ = head_and_body(read_all(sock))  # returns: the server closed it
                assert head.startswith(b"HTTP/1.1 408 ")
        finally:
            for sock in silent:
                sock.close()

    def test_an_idle_kept_alive_connection_is_closed(self, served: Served) -> None:
        with connect(served) as sock:
            sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head, _ = head_and_body(read_all(sock))  # the page, then the close once the connection idled
        assert head.startswith(b"HTTP/1.1 200 ")


class TestSlowBodies:
    def test_a_trickled_ticket_body_is_answered_408_in_the_error_shape(self, served: Served, key: str) -> None:
        with connect(served) as slow:
            slow.sendall(
                b"POST /tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 500\r\nAuthorization: Bearer " + key.encode() + b"\r\n\r\n{"
            )
            assert trickle(slow, b" ", others=served) < MOST_BYTES
            head, body = head_and_body(read_all(slow))
        assert head.startswith(b"HTTP/1.1 408 ")
        assert b"connection: close" in head.lower()
        assert json.loads(body) == {"error": "The request's body arrived too slowly; nothing was done. Send it again."}
        # Nothing was filed, and the service answers as ever.
        listed = httpx.get(served.url + "/tickets", headers=bearer(key), timeout=5)
        assert listed.json()["tickets"] == []

    def test_a_trickled_sign_in_form_gets_the_408_page(self, served: Served) -> None:
        with connect(served) as slow:
            slow.sendall(
                b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 500\r\n\r\nemail="
            )
            assert trickle(slow, b"a", others=served) < MOST_BYTES
            head, body = head_and_body(read_all(slow))
        assert head.startswith(b"HTTP/1.1 408 ")
        assert b"text/html" in head
        assert b"too slowly" in body

    def test_a_body_nobody_reads_is_cut_off_after_the_answer(self, served: Served, key: str) -> None:
        with connect(served) as slow:
            slow.sendall(
                b"GET /reasons HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\nAuthorization: Bearer "
                + key.encode()
                + b"\r\n\r\n"
            )
            assert trickle(slow, b"x", past_answer=True) < MOST_BYTES  # cut off
            answer = read_all(slow)
        assert answer.startswith(b"HTTP/1.1 200 ")  # answered at once, before the trickle was cut off

    def test_the_server_logged_the_cut_offs(self, served: Served) -> None:
        log = served.log()
        assert "its request's headers took over 1 s" in log
        assert "Traceback" not in log
