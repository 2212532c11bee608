"""The worker under faults, with real processes: a ``claimdesk worker`` killed (SIGKILL) between the steps of
a job, an SMTP server that is down, a webhook receiver that hangs. Each job is retried or given up as
designed (``jobs.py``: a dead worker's job is taken again once its lease runs out; a transient failure is
retried with backoff; the last attempt gives up), and nothing else waits for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.mail.tasks import MAX_ATTEMPTS as MAIL_MAX_ATTEMPTS
from tests.factories import Reseller, StaffMember, new_reseller, new_staff
from tests.files.fileserver import PNG
from tests.webhooks.support import MailSink, drain, queued, register_webhook

from .crashkit import Service, free_port, order_body, ticket_body

# --- A host on 127.0.0.1 whose paths do as the test says -----------------------------------------------------


@dataclass
class Host:
    """``/ok`` answers 200, ``/hang`` holds the request until ``release``, ``/photo.png`` serves a PNG;
    ``on_request(path)`` runs first (a test kills the worker there). Requests in flight are counted."""

    on_request: Callable[[str], None] = lambda _path: None
    release: threading.Event = field(default_factory=threading.Event)
    hits: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def count(self, path: str) -> int:
        return sum(1 for hit, _ in self.hits if hit == path)


def _handler(host: Host) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:
            pass

        def _answer(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            path = self.path.split("?")[0]
            if length := int(self.headers.get("Content-Length") or 0):
                self.rfile.read(length)
            with host.lock:
                host.hits.append((path, {k.lower(): v for k, v in self.headers.items()}))
                host.in_flight[path] = host.in_flight.get(path, 0) + 1
            try:
                host.on_request(path)
                if path == "/hang":
                    host.release.wait(60)
                if path == "/photo.png":
                    self._answer(PNG, "image/png")
                else:
                    self._answer(b"{}", "application/json")
            except OSError:
                pass  # the other side gave up (timed out, or was killed)
            finally:
                with host.lock:
                    host.in_flight[path] -= 1

        do_GET = do_POST = _handle  # noqa: N815 (http.server's method names)

    return Handler


@contextmanager
def running_host(on_request: Callable[[str], None] | None = None) -> Iterator[Host]:
    host = Host(on_request=on_request or (lambda _path: None))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(host))
    httpd.daemon_threads = True
    host.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        host.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


# --- Helpers ---------------------------------------------------------------------------------------------------


def file_one(http: httpx.Client, reseller: Reseller, n: int, files_url: str | None = None) -> dict[str, Any]:
    order_id, ticket_id = f"faults-order-{n}", f"faults-t{n}"
    assert http.post("/order", json=order_body(order_id), headers=reseller.headers).status_code == 201
    answer = http.post("/tickets", json=ticket_body(order_id, ticket_id, n, files_url), headers=reseller.headers)
    assert answer.status_code == 201, answer.text
    ticket: dict[str, Any] = answer.json()["ticket"]
    return ticket


def rows(url: str, query: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(query), params)]
    finally:
        engine.dispose()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def job(url: str, kind: str) -> tuple[Any, ...]:
    """(state, attempts, locked_by, last_error) of the one job of ``kind``."""
    [found] = rows(url, "SELECT state, attempts, locked_by, last_error FROM jobs WHERE kind = :k", k=kind)
    return found


@pytest.fixture
def reseller(database_url: str) -> Reseller:
    db = Database(database_url)
    try:
        return new_reseller(db, "Fault Prints")
    finally:
        db.dispose()


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Service]:
    """The API on its own (``serve --no-worker``); the worker runs as its own process in each test."""
    with Service(database_url, tmp_path, worker=False, name="api") as service:
        yield service


# --- A worker killed between the steps of a job ----------------------------------------------------------------


class TestKilledWorker:
    def test_killed_after_sending_a_webhook_it_is_sent_again_with_the_same_id(
        self, api: Service, reseller: Reseller, database_url: str, tmp_path: Path
    ) -> None:
        worker = Service(database_url, tmp_path, command="worker", name="worker")

        killed = threading.Event()

        def kill_on_first_delivery(path: str) -> None:
            if path == "/hooks" and not killed.is_set():
                killed.set()
                worker.kill()  # the POST has arrived; the worker never sees the answer, nor records it

        with running_host(kill_on_first_delivery) as host, httpx.Client(base_url=api.url, timeout=30) as http:
            register_webhook(http, reseller, f"{host.url}/hooks", ["ticket.created"])
            file_one(http, reseller, 1)
            worker.start()
            wait_until(lambda: host.count("/hooks") == 1, "the first delivery")
            assert worker.process is not None
            worker.process.wait(30)
            [(state, attempts)] = rows(database_url, "SELECT state, attempts FROM webhook_deliveries")
            assert (state, attempts) == ("pending", 0)  # the attempt was never recorded
            assert job(database_url, "deliver_webhook")[:2] == ("queued", 1)  # claimed by the dead worker

            worker.start()  # its lease runs out and the job is taken again
            try:
                wait_until(
                    lambda: rows(database_url, "SELECT state FROM webhook_deliveries") == [("delivered",)],
                    "the delivery after the restart",
                )
            finally:
                worker.stop()
        first, second = (headers["webhook-id"] for path, headers in host.hits if path == "/hooks")
        assert first == second  # a redelivery the receiver can recognise
        assert rows(database_url, "SELECT count(*) FROM webhook_attempts") == [(1,)]
        assert job(database_url, "deliver_webhook")[:2] == ("done", 2)

    def test_killed_after_downloading_a_file_it_is_stored_once(
        self, api: Service, reseller: Reseller, database_url: str, tmp_path: Path
    ) -> None:
        worker = Service(database_url, tmp_path, command="worker", name="worker")

        killed = threading.Event()

        def kill_after_the_download(path: str) -> None:
            if path == "/photo.png" and not killed.is_set():
                killed.set()
                # Killed as the file goes out: between the download, keeping it and marking it stored.
                threading.Timer(0.05, worker.kill).start()

        with running_host(kill_after_the_download) as host, httpx.Client(base_url=api.url, timeout=30) as http:
            ticket = file_one(http, reseller, 1, host.url)
            worker.start()
            wait_until(lambda: worker.process is not None and worker.process.poll() is not None, "the kill")
            worker.start()
            try:
                wait_until(
                    lambda: rows(database_url, "SELECT count(*) FROM evidence_files WHERE state = 'stored'") == [(2,)],
                    "both files stored after the restart",
                )
                # The killed worker may have marked its file stored and died before marking its job done: that
                # job is run again once its lease is out (and finds the file stored). Wait for it, not a moment.
                wait_until(
                    lambda: (
                        rows(database_url, "SELECT count(*) FROM jobs WHERE kind = 'fetch_file' AND state = 'done'")
                        == [(2,)]
                    ),
                    "both fetch jobs done after the restart",
                )
            finally:
                worker.stop()
            view = http.get(f"/tickets/{ticket['id']}", headers=reseller.headers).json()
        assert [f["state"] for line in view["products"] for f in line["files"]] == ["stored", "stored"]
        # Each original is kept once (by its content), however often it was downloaded.
        originals = [p for p in (tmp_path / "files" / "originals").rglob("*") if p.is_file()]
        assert len(originals) == 1  # both lines' files are the same PNG
        assert host.count("/photo.png") >= 2
        assert rows(database_url, "SELECT state, count(*) FROM jobs WHERE kind = 'fetch_file' GROUP BY state") == [
            ("done", 2)
        ]


# --- An SMTP server that is down ------------------------------------------------------------------------------


def _staff_reply(http: httpx.Client, staff: StaffMember, number: int) -> None:
    answer = http.post(f"/staff/tickets/{number}/messages", json={"body": "We are on it."}, headers=staff.headers)
    assert answer.status_code == 201, answer.text


def test_smtp_down_the_mail_is_retried_and_sent_once_it_is_up_while_webhooks_go_on(
    reseller: Reseller, database_url: str, tmp_path: Path
) -> None:
    smtp_port = free_port()  # nothing listens there yet
    db = Database(database_url)
    try:
        staff = new_staff(db)
    finally:
        db.dispose()
    env = {"CLAIMDESK_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "CLAIMDESK_RETRY_BASE_SECONDS": "0.2"}
    with (
        running_host() as host,
        Service(database_url, tmp_path, env=env) as service,
        httpx.Client(base_url=service.url, timeout=30) as http,
    ):
        register_webhook(http, reseller, f"{host.url}/hooks", ["ticket.message_added"])
        ticket = file_one(http, reseller, 1)
        _staff_reply(http, staff, ticket["number"])
        # The webhook is delivered while the mail is being retried.
        wait_until(lambda: host.count("/hooks") == 1, "the webhook delivery")

        # Two attempts failed, and the job waits for its next one (not claimed: locked_by is cleared).
        def waiting_after_two_failures() -> bool:
            _state, attempts, locked_by, _error = job(database_url, "send_email")
            return bool(attempts >= 2 and locked_by is None)

        wait_until(waiting_after_two_failures, "a second failed attempt at the mail")
        state, attempts, _locked_by, error = job(database_url, "send_email")
        assert state == "queued"
        assert "refused" in (error or "").lower(), error
        sink = MailSink()
        controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        try:
            wait_until(lambda: len(sink.messages) == 1, "the mail once the SMTP server is up")
            wait_until(lambda: job(database_url, "send_email")[0] == "done", "the mail job done")
        finally:
            controller.stop()
    assert sink.messages[0][0] == ["support@reseller.example"]
    assert job(database_url, "send_email")[1] > attempts >= 2


def test_smtp_down_for_good_the_mail_is_given_up_after_its_last_attempt(
    client: httpx.Client, db: Database, settings: Settings
) -> None:
    settings = settings.model_copy(
        update={"smtp_url": f"smtp://127.0.0.1:{free_port()}", "allow_private_urls": True, "retry_base_seconds": 0}
    )
    reseller = new_reseller(db)
    staff = new_staff(db)
    order_id = "given-up-order"
    assert client.post("/order", json=order_body(order_id), headers=reseller.headers).status_code == 201
    answer = client.post("/tickets", json=ticket_body(order_id, "given-up", 1, None), headers=reseller.headers)
    assert answer.status_code == 201
    _staff_reply(client, staff, answer.json()["ticket"]["number"])
    drain(db, settings)  # time is fast-forwarded through every retry
    assert queued(db) == []
    state, attempts, _locked_by, error = job(db.url, "send_email")
    assert (state, attempts) == ("failed", MAIL_MAX_ATTEMPTS)
    assert "refused" in (error or "").lower(), error


# --- A webhook receiver that hangs ----------------------------------------------------------------------------


def test_a_hanging_webhook_receiver_holds_up_nothing_else(
    reseller: Reseller, database_url: str, tmp_path: Path
) -> None:
    env = {"CLAIMDESK_WEBHOOK_TIMEOUT_SECONDS": "1", "CLAIMDESK_RETRY_BASE_SECONDS": "0.2"}
    tickets = 3
    with (
        running_host() as host,
        Service(database_url, tmp_path, env=env) as service,
        httpx.Client(base_url=service.url, timeout=30) as http,
    ):
        register_webhook(http, reseller, f"{host.url}/hang", ["ticket.created"])
        register_webhook(http, reseller, f"{host.url}/ok", ["ticket.created"])
        for n in range(tickets):
            file_one(http, reseller, n, host.url)

        def others_done() -> bool:
            delivered = rows(
                database_url,
                "SELECT count(*) FROM webhook_deliveries WHERE url LIKE '%/ok' AND state = 'delivered'",
            )
            stored = rows(database_url, "SELECT count(*) FROM evidence_files WHERE state = 'stored'")
            return delivered == [(tickets,)] and stored == [(2 * tickets,)]

        wait_until(others_done, "the other endpoint's deliveries and the files")
        pending = rows(database_url, "SELECT state FROM webhook_deliveries WHERE url LIKE '%/hang'")
        # Each attempt at the hanging endpoint times out, is recorded and retried.
        wait_until(
            lambda: (
                rows(
                    database_url,
                    "SELECT count(DISTINCT delivery_id) FROM webhook_attempts WHERE error LIKE 'timed out%'",
                )
                == [(tickets,)]
            ),
            "a timed-out attempt at each hanging delivery",
        )
        host.release.set()  # the endpoint answers again: the next attempts succeed
        wait_until(
            lambda: (
                rows(database_url, "SELECT count(*) FROM webhook_deliveries WHERE state = 'delivered'")
                == [(2 * tickets,)]
            ),
            "every delivery once the endpoint answers",
        )
    assert pending == [("pending",)] * tickets
    # Each event's delivery to the good endpoint ended before the first attempt at the hanging one did
    # (an attempt is recorded when it ends, here when it timed out): it did not wait for it.
    order = rows(
        database_url,
        "SELECT ok.finished_at < (SELECT min(a.at) FROM webhook_attempts a WHERE a.delivery_id = hang.id) "
        "FROM webhook_deliveries ok JOIN webhook_deliveries hang ON hang.event_id = ok.event_id "
        "WHERE ok.url LIKE '%/ok' AND hang.url LIKE '%/hang'",
    )
    assert [bool(before) for (before,) in order] == [True] * tickets
    assert rows(database_url, "SELECT count(*) FROM jobs WHERE state = 'failed'") == [(0,)]
