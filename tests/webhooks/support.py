"""A real webhook receiver on 127.0.0.1, a real SMTP server, and a deterministic way to run the worker."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from standardwebhooks import Webhook

import claimdesk.webhooks.tasks  # noqa: F401 (registers the webhook and e-mail jobs)
from claimdesk import jobs
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.models import Job, utcnow
from tests.factories import Reseller, new_order, ticket_body


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def verify(self, secret: str) -> Any:
        """The payload, if the Standard Webhooks signature is valid for ``secret`` (raises otherwise)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    """Answers each POST by the next scripted behaviour (then ``ok``): ``ok``, ``503``, ``slow``,
    ``redirect``, ``huge``, ``drip``. ``slow`` holds the answer until the test ends."""

    script: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    redirect_hits: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def next_behaviour(self, request: Received) -> str:
        with self.lock:
            self.received.append(request)
            return self.script.pop(0) if self.script else "ok"

    def for_path(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_GET(self) -> None:
            receiver.redirect_hits += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            behaviour = receiver.next_behaviour(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            if behaviour == "slow":
                receiver.release.wait(30)
            if behaviour == "drip":  # the answer's head, one byte at a time, each well within the read timeout
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Pad: ")
                    while not receiver.release.wait(0.05):
                        self.wfile.write(b"x")
                except OSError:
                    pass  # the sender gave up, as it should
                self.close_connection = True
                return
            if behaviour == "redirect":
                self.send_response(307)
                self.send_header("Location", f"{receiver.url}/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if behaviour == "huge":
                self.send_response(500)
                self.send_header("Content-Length", str(50 * 1024 * 1024))
                self.end_headers()
                chunk = b"x" * 65536
                try:
                    for _ in range(800):
                        self.wfile.write(chunk)
                except OSError:
                    pass  # the sender stopped reading, as it should
                return
            status = 503 if behaviour == "503" else 200
            payload = b"unavailable" if status == 503 else b"{}"
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    httpd.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


class MailSink:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"


@contextmanager
def running_smtp() -> Iterator[tuple[MailSink, str]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


def queued(db: Database, kind: str | None = None) -> list[Job]:
    with db.session() as session:
        query = sa.select(Job).where(Job.state == "queued")
        if kind is not None:
            query = query.where(Job.kind == kind)
        return list(session.scalars(query.order_by(Job.id)))


def drain(db: Database, settings: Settings, worker_id: str = "test-worker", *, batch: int = 10) -> int:
    """Run the worker until no job is left queued; waiting retries are made due at once (time is
    fast-forwarded, nothing sleeps). How many jobs ran."""
    runner = jobs.Runner(db, settings, worker_id)
    ran = 0
    for _ in range(10_000):
        claimed = jobs.claim(db, worker_id, batch)
        for job in claimed:
            runner.run(job)
        ran += len(claimed)
        if claimed:
            continue
        if not make_due(db):
            return ran
    raise AssertionError("the worker did not become idle")


def make_due(db: Database) -> int:
    """Fast-forward time for the queued jobs nobody holds: their retries are due now. How many."""
    now = utcnow()
    with db.transaction() as session:
        moved = session.execute(
            sa.update(Job)
            .where(Job.state == "queued", sa.or_(Job.locked_until.is_(None), Job.locked_until < now))
            .values(run_at=now)
        )
        return int(moved.rowcount)  # type: ignore[attr-defined]


def register_webhook(client: httpx.Client, reseller: Reseller, url: str, events: list[str] | None = None) -> Any:
    body = {"url": url, "events": events or ["ticket.created", "ticket.status_changed", "ticket.message_added"]}
    response = client.post("/webhooks", json=body, headers=reseller.headers)
    assert response.status_code == 201, response.text
    return response.json()


def file_ticket(client: httpx.Client, reseller: Reseller, **order_overrides: Any) -> dict[str, Any]:
    """A ticket without evidence files (so no file fetch is queued), filed through the API."""
    order = new_order(client, reseller, **order_overrides)
    body = ticket_body(order, reason="delayed", products=[{"id": order["products"][0]["id"], "amount": 1}])
    response = client.post("/tickets", json=body, headers=reseller.headers)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()["ticket"]
    return ticket
