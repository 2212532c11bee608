"""What the crash, outage, disk-full, job-fault and backup tests share: a real ``claimdesk serve`` (or
``claimdesk worker``) process that can be killed and started again, clients that file tickets concurrently
and retry with the same ids until they are acknowledged, and the checks that nothing acknowledged was lost.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

# A longer run by hand: CLAIMDESK_RELIABILITY_LONG=1 (more rounds, longer rounds, more clients).
LONG = os.environ.get("CLAIMDESK_RELIABILITY_LONG", "") not in ("", "0", "false")

CLAIMDESK = str(Path(sys.executable).with_name("claimdesk"))
ROOT = Path(__file__).resolve().parents[2]  # the repository (``tests`` importable from there)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Service:
    """``claimdesk serve`` (or ``claimdesk worker``) in a process of its own, on one port for all its lives.

    Its log (every life, one after the other) is ``log``; ``kill`` sends SIGKILL, ``stop`` SIGTERM.
    """

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *,
        command: str = "serve",
        worker: bool = True,
        env: dict[str, str] | None = None,
        name: str = "serve",
        prefix: list[str] | None = None,
    ) -> None:
        # ``prefix``: how to run the claimdesk command (default: the installed ``claimdesk``).
        self.prefix = prefix or [CLAIMDESK]
        self.port = free_port()
        self.command = command
        self.worker = worker
        self.log = workdir / f"{name}.log"
        self.env = {
            **os.environ,
            "CLAIMDESK_DATABASE_URL": database_url,
            "CLAIMDESK_ALLOW_PRIVATE_URLS": "true",
            "CLAIMDESK_STORAGE_DIR": str(workdir / "files"),
            "CLAIMDESK_RATE_LIMIT": "1000000/minute",
            "CLAIMDESK_RETRY_BASE_SECONDS": "0.1",
            "CLAIMDESK_WORKER_POLL_SECONDS": "0.05",
            # A job of a killed process is taken again after this long (the lease), not after 5 minutes.
            "CLAIMDESK_JOB_LEASE_SECONDS": "3",
            "CLAIMDESK_WEBHOOK_TIMEOUT_SECONDS": "2",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.lives = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60) -> Service:
        assert self.process is None or self.process.poll() is not None, "already running"
        if self.command == "serve":
            args = ["serve", "--port", str(self.port), "--no-access-log"]
            if not self.worker:
                args.append("--no-worker")
        else:
            args = [self.command]
        with self.log.open("ab") as output:
            output.write(f"\n--- life {self.lives + 1}: {' '.join(args)}\n".encode())
            output.flush()
            self.process = subprocess.Popen(
                [*self.prefix, *args], env=self.env, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT
            )
        self.lives += 1
        if self.command == "serve":
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as http:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"claimdesk {self.command} exited ({self.process.returncode}):\n{self.tail()}")
                try:
                    http.get(f"{self.url}/reasons")  # any answer (a 401) means it serves
                    return
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"claimdesk {self.command} did not start:\n{self.tail()}") from None
                    time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no cleanup; what is on disk is all there is."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- Clients that file tickets and retry with the same id until one is acknowledged -----------------------


def order_body(order_id: str) -> dict[str, Any]:
    return {
        "id": order_id,
        "reference": f"reference of {order_id}",
        "products": [{"id": 1, "code": "banner-510", "amount": 10}, {"id": 2, "code": "flyer-a5", "amount": 500}],
    }


def ticket_body(order_id: str, ticket_id: str, n: int, files_url: str | None) -> dict[str, Any]:
    """A ticket on both lines of its own order, each line with a file on ``files_url`` (when given)."""

    def files(line: int) -> dict[str, Any]:
        return {"files": [{"uri": f"{files_url}/photo.png?ticket={ticket_id}&line={line}"}]} if files_url else {}

    return {
        "order_id": order_id,
        "id": ticket_id,
        "description": f"Ticket {n}: two banners arrived torn, one flyer box soaked (ü, 「破れ」)",
        "reason": "damaged" if files_url else "delayed",
        "suggested_solution": "rework",
        "contact_email": "support@reseller.example",
        # Within the order's 10 and 500 however many tickets a long run files (each ticket has an order).
        "products": [{"id": 1, "amount": 1 + n % 5, **files(1)}, {"id": 2, "amount": 10 + n % 490, **files(2)}],
    }


@dataclass
class Intake:
    """``clients`` threads filing tickets through ``url`` for one API key until ``stop``; each ticket is
    retried with the same id and body (connection refused, reset, a 503, a 429) until it is acknowledged: a
    ``201``, or a ``200`` "Ticket already received" (its first attempt was stored, its answer lost). Any other
    answer is a fault: it is kept in ``unexpected`` and that ticket is given up (a real client would not send
    it again either), so the waits below fail at once, naming it, instead of at their timeout."""

    url: str
    key: str
    prefix: str
    files_url: str | None = None
    clients: int = 4
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)  # ticket id -> body
    acked: dict[str, int] = field(default_factory=dict)  # ticket id -> the status that acknowledged it
    statuses: Counter[int | str] = field(default_factory=Counter)  # every answer and transport error seen
    unexpected: list[str] = field(default_factory=list)  # answers that are neither progress nor a retry
    retry_after_missing: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Intake:
        for index in range(self.clients):
            thread = threading.Thread(target=self._client, name=f"intake-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self, timeout: float = 60) -> None:
        """No new tickets; the ones in flight are retried until acknowledged (the server must be up)."""
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout)
            assert not thread.is_alive(), "a client is still retrying its ticket"

    def _note(self, outcome: int | str, detail: str | None = None) -> None:
        with self.lock:
            self.statuses[outcome] += 1
            if detail is not None:
                self.unexpected.append(detail)

    def wait_for_acks(self, count: int, *, timeout: float = 30) -> None:
        """Until ``count`` tickets in all are acknowledged; fails on an unexpected answer, or after ``timeout``
        seconds with every answer seen."""
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            assert not self.unexpected, self.unexpected[:3]
            assert time.monotonic() < deadline, f"no ticket acknowledged in {timeout} s: {dict(self.statuses)}"
            time.sleep(0.02)

    def _post(
        self, http: httpx.Client, path: str, body: dict[str, Any], done: Callable[[httpx.Response], bool]
    ) -> int | None:
        """POST until ``done(answer)``, retrying the same request on every failure that calls for it; None
        after an unexpected answer."""
        pause = 0.02
        while True:
            try:
                answer = http.post(path, json=body)
            except httpx.TransportError as exc:
                self._note(type(exc).__name__)
            else:
                self._note(answer.status_code)
                if done(answer):
                    return answer.status_code
                if answer.status_code == 503:
                    if "retry-after" not in answer.headers or set(answer.json()) - {"error"}:
                        with self.lock:
                            self.retry_after_missing += 1
                elif answer.status_code != 429:
                    self._note("unexpected", f"{path} {body.get('id')}: {answer.status_code} {answer.text[:300]}")
                    return None
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.5)

    def _client(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=httpx.Timeout(10, connect=2)) as http:
            while not self.stopping.is_set():
                n = next(self.counter)
                order_id, ticket_id = f"{self.prefix}-order-{n}", f"{self.prefix}-t{n}"
                # The order: a 409 on a retry means the first attempt was stored.
                if self._post(http, "/order", order_body(order_id), lambda a: a.status_code in (201, 409)) is None:
                    continue
                body = ticket_body(order_id, ticket_id, n, self.files_url)
                with self.lock:
                    self.sent[ticket_id] = body
                status = self._post(
                    http,
                    "/tickets",
                    body,
                    lambda a: (
                        a.status_code == 201
                        or (a.status_code == 200 and a.json().get("message") == "Ticket already received")
                    ),
                )
                if status is not None:
                    with self.lock:
                        self.acked[ticket_id] = status


@contextmanager
def filing(intake: Intake) -> Iterator[Intake]:
    intake.start()
    try:
        yield intake
    finally:
        intake.stopping.set()


# --- Checks ------------------------------------------------------------------------------------------------


def expected_view(body: dict[str, Any]) -> dict[str, Any]:
    """What of a ticket's body its stored view must show as it was sent."""
    return {
        "id": body["id"],
        "order_id": body["order_id"],
        "description": body["description"],
        "reason": body["reason"],
        "suggested_solution": body["suggested_solution"],
        "contact_email": body["contact_email"],
        "products": [
            (str(line["id"]), line["amount"], [f["uri"] for f in line.get("files", [])]) for line in body["products"]
        ],
    }


def stored_view(ticket: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": ticket["id"],
        "order_id": ticket["order_id"],
        "description": ticket["description"],
        "reason": ticket["reason"],
        "suggested_solution": ticket["suggested_solution"],
        "contact_email": ticket["contact_email"],
        "products": [
            (str(line["id"]), line["amount"], [f["uri"] for f in line.get("files", [])]) for line in ticket["products"]
        ],
    }


@dataclass
class Census:
    tickets: int  # tickets of the account in the database
    duplicated: int  # ticket ids stored more than once
    lost: list[str]  # acknowledged, not there
    altered: list[str]  # there, but not as sent
    strangers: list[str]  # stored, but never sent (cannot happen)
    events_wrong: list[str]  # tickets without exactly one ticket.created event, sequence 1


def census(url: str, service_url: str, key: str, account_id: int, intake: Intake) -> Census:
    """Every acknowledged ticket read back through the API, and the database counted directly."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT external_id, count(*) FROM tickets WHERE account_id = :a GROUP BY external_id"),
                {"a": account_id},
            ).all()
            created = conn.execute(
                sa.text(
                    "SELECT t.external_id, count(e.id), min(e.sequence) FROM tickets t "
                    "LEFT JOIN events e ON e.ticket_id = t.id AND e.type = 'ticket.created' "
                    "WHERE t.account_id = :a GROUP BY t.external_id"
                ),
                {"a": account_id},
            ).all()
    finally:
        engine.dispose()
    counts: dict[str, int] = {str(external_id): int(count) for external_id, count in rows}
    lost, altered = [], []
    with httpx.Client(base_url=service_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        for ticket_id in intake.acked:
            answer = http.get(f"/tickets/{ticket_id}")
            if answer.status_code != 200:
                lost.append(ticket_id)
            elif stored_view(answer.json()) != expected_view(intake.sent[ticket_id]):
                altered.append(ticket_id)
    return Census(
        tickets=sum(counts.values()),
        duplicated=sum(1 for count in counts.values() if count > 1),
        lost=lost,
        altered=altered,
        strangers=sorted(set(counts) - set(intake.sent)),
        events_wrong=[external_id for external_id, count, first in created if (count, first) != (1, 1)],
    )


def assert_intact(intake: Intake, found: Census) -> None:
    """Every ticket sent was acknowledged in the end, and every acknowledged one is stored once, as sent."""
    assert intake.unexpected == [], intake.unexpected[:5]
    assert 500 not in intake.statuses, intake.statuses
    assert intake.retry_after_missing == 0  # every 503 carried Retry-After and the contract's shape
    assert len(intake.acked) == len(intake.sent)
    assert found.lost == []
    assert found.altered == []
    assert found.strangers == []
    assert found.duplicated == 0
    assert found.events_wrong == []
    assert found.tickets == len(intake.acked)


def assert_background_done(background: dict[str, int], tickets: int) -> None:
    """No job left queued or failed, and both files of every ticket fetched and stored."""
    assert background["jobs_queued"] == 0, background
    assert background.get("jobs.failed", 0) == 0, background
    assert background.get("evidence_files.stored") == 2 * tickets, background


def row_counts(url: str) -> dict[str, int]:
    """What every stored ticket brings with it, counted: a ticket half-written would break the ratios
    (two lines, two files, two fetch jobs and one ticket.created event per ticket of ``Intake``)."""
    queries = {
        "tickets": "SELECT count(*) FROM tickets",
        "lines": "SELECT count(*) FROM ticket_products",
        "files": "SELECT count(*) FROM evidence_files",
        "fetch_jobs": "SELECT count(*) FROM jobs WHERE kind = 'fetch_file'",
        "created_events": "SELECT count(*) FROM events WHERE type = 'ticket.created'",
        "history": "SELECT count(*) FROM ticket_history WHERE action = 'created'",
    }
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: int(conn.execute(sa.text(query)).scalar_one()) for name, query in queries.items()}
    finally:
        engine.dispose()


def wait_for_background(url: str, *, stall: float = 60) -> dict[str, int]:
    """Wait until no job is queued, for as long as the queue keeps moving (a long run leaves thousands of
    fetches behind it); then how the files and webhook deliveries ended, by state. Gives up after ``stall``
    seconds without a change, and returns what it found for the checks to report."""
    engine = sa.create_engine(url)
    last, changed = -1, time.monotonic()
    try:
        while True:
            with engine.connect() as conn:
                queued = conn.execute(sa.text("SELECT count(*) FROM jobs WHERE state = 'queued'")).scalar_one()
                if queued != last:
                    last, changed = queued, time.monotonic()
                if not queued or time.monotonic() - changed > stall:
                    states: dict[str, int] = {"jobs_queued": queued}
                    for table in ("evidence_files", "webhook_deliveries", "jobs"):
                        for state, count in conn.execute(
                            sa.text(f"SELECT state, count(*) FROM {table} GROUP BY state")
                        ):
                            states[f"{table}.{state}"] = count
                    return states
            time.sleep(0.2)
    finally:
        engine.dispose()


def sqlite_integrity(url: str) -> str:
    """``PRAGMA integrity_check`` of a SQLite database URL: 'ok', or what is broken."""
    import sqlite3

    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    conn.close()
    return "\n".join(str(row[0]) for row in rows)


def report(name: str, figures: dict[str, Any]) -> None:
    """Figures of a run, on stdout (``pytest -s``) and appended to $CLAIMDESK_RELIABILITY_FIGURES if set."""
    line = f"{name}: " + ", ".join(f"{key}={value}" for key, value in figures.items())
    print(line)  # noqa: T201 (the figures of a run, for the report)
    target = os.environ.get("CLAIMDESK_RELIABILITY_FIGURES")
    if target:
        with Path(target).open("a") as out:
            out.write(line + "\n")


# --- A full SQLite database: ``claimdesk serve`` with a page limit the test moves -----------------------------


def limited_command(control: Path, *args: str) -> list[str]:
    """The command that runs ``claimdesk ARGS`` with every SQLite connection's ``max_page_count`` read from
    ``control`` (a number; a missing file or 0 means no limit), also on the connections already open when
    ``control`` changes: the database is "full" at that many pages, and "has room again" when it grows."""
    return [sys.executable, "-m", "tests.reliability.crashkit", "limited", str(control), *args]


NO_LIMIT = 1_073_741_823  # SQLite's own largest max_page_count


def _run_limited(control: Path, argv: list[str]) -> None:
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    connections: list[sqlite3.Connection] = []

    def limit() -> int:
        try:
            return int(control.read_text().strip() or 0) or NO_LIMIT
        except (OSError, ValueError):
            return NO_LIMIT

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute(f"PRAGMA max_page_count = {limit()}")
            connections.append(dbapi_connection)

    def follow() -> None:
        current = limit()
        while True:
            time.sleep(0.05)
            wanted = limit()
            if wanted != current:
                current = wanted
                for connection in list(connections):
                    try:
                        connection.execute(f"PRAGMA max_page_count = {wanted}")
                    except sqlite3.ProgrammingError:  # closed since
                        connections.remove(connection)

    event.listen(Pool, "connect", on_connect)
    threading.Thread(target=follow, daemon=True).start()
    from claimdesk.cli import app

    app(argv, prog_name="claimdesk")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "limited":
        _run_limited(Path(sys.argv[2]), sys.argv[3:])
