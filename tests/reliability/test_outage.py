"""PostgreSQL stopped for a few seconds under load, then started again: requests in the gap answer ``503``
with the contract's error shape and ``Retry-After``, never ``500``; the same ``claimdesk serve`` process
serves again without a restart (the pool's pre-ping and the invalidation of broken connections), its worker
finishes the queued work, and nothing acknowledged was lost.

On a PostgreSQL cluster of its own (the session's shared one must stay up for the other tests).
``CLAIMDESK_RELIABILITY_LONG=1`` makes ten outages instead of two.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from claimdesk.db import Database
from claimdesk.migrate import upgrade
from claimdesk.testing.postgres import PostgresServer
from tests.conftest import DATABASES
from tests.factories import new_reseller
from tests.files.fileserver import FileServer

from .crashkit import (
    LONG,
    Intake,
    Service,
    assert_background_done,
    assert_intact,
    census,
    filing,
    report,
    wait_for_background,
)

OUTAGES = 10 if LONG else 2
GAP_SECONDS = 3.0 if LONG else 1.5  # long enough for requests to meet the closed database

pytestmark = pytest.mark.skipif("postgresql" not in DATABASES, reason="CLAIMDESK_TEST_DATABASES leaves PostgreSQL out")


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Prober:
    """Reads (the ORM's road) in a loop: every answer counted; a 503 must be the contract's error."""

    url: str
    key: str
    statuses: Counter[int | str] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> Prober:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        assert self.thread is not None
        self.thread.join(30)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=10) as http:
            while not self.stopping.is_set():
                for path in ("/tickets?limit=5", "/account", "/events?limit=5"):
                    try:
                        answer = http.get(path)
                    except httpx.TransportError as exc:
                        self.statuses[type(exc).__name__] += 1
                        continue
                    self.statuses[answer.status_code] += 1
                    if answer.status_code == 503:
                        body = answer.json()
                        if set(body) != {"error"} or not answer.headers.get("retry-after", "").isdigit():
                            self.bad.append(f"{path}: {answer.headers} {answer.text}")
                    elif answer.status_code != 200:
                        self.bad.append(f"{path}: {answer.status_code} {answer.text[:300]}")
                time.sleep(0.02)


def _recovered(url: str, key: str, since: float, timeout: float = 30) -> float:
    """Seconds from ``since`` until a read answers 200 again."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as http:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if http.get("/account").status_code == 200:
                return time.monotonic() - since
            time.sleep(0.05)
    raise AssertionError("the service did not serve again after the database came back")


def test_postgresql_outage_answers_503_and_the_same_process_serves_again(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    url = own_postgres.create_database("outage")
    upgrade(url)
    db = Database(url)
    try:
        reseller = new_reseller(db, "Outage Prints")
    finally:
        db.dispose()
    recoveries: list[float] = []
    with FileServer() as files, Service(url, tmp_path, env={"CLAIMDESK_DATABASE_POOL_SIZE": "4"}) as service:
        intake = Intake(service.url, reseller.key, "outage", files_url=files.url(""), clients=4)
        prober = Prober(service.url, reseller.key).start()
        with filing(intake):
            for outage in range(OUTAGES):
                intake.wait_for_acks(len(intake.acked) + 3)  # under load before each outage
                # Alternate a clean stop (sessions ended by the server) and a crash of the server.
                own_postgres.pause("fast" if outage % 2 == 0 else "immediate")
                time.sleep(GAP_SECONDS)
                own_postgres.resume()
                recoveries.append(_recovered(service.url, reseller.key, time.monotonic()))
            intake.wait_for_acks(len(intake.acked) + 3)  # and after the last
            intake.stop()
        prober.stop()
        background = wait_for_background(url)
        found = census(url, service.url, reseller.key, reseller.id, intake)
        assert service.process is not None
        alive = service.process.poll() is None
        log = service.log_text()

    report(
        "outage[postgresql]",
        {
            "outages": OUTAGES,
            "gap_seconds": GAP_SECONDS,
            "tickets": found.tickets,
            "lost": len(found.lost),
            "duplicated": found.duplicated,
            "recovery_seconds": [round(r, 2) for r in recoveries],
            "intake_answers": dict(intake.statuses),
            "read_answers": dict(prober.statuses),
        },
    )
    assert alive  # the same process throughout
    assert service.lives == 1
    assert prober.bad == [], prober.bad[:5]
    assert 500 not in prober.statuses
    assert intake.statuses[503] > 0  # the gaps were met, and answered 503
    assert prober.statuses[503] > 0
    assert "unexpected error" not in log, log[-3000:]
    assert_intact(intake, found)
    assert_background_done(background, found.tickets)
