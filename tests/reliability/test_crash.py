"""``claimdesk serve`` killed with SIGKILL at random moments while clients file tickets and retry with the
same ids; started again each time. Every acknowledged ticket is there as it was sent, none twice, every file
fetch and webhook delivery still completes, and SQLite's integrity check says ok.

Five rounds in CI; ``CLAIMDESK_RELIABILITY_LONG=1`` runs 25 longer ones with more clients.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from claimdesk.db import Database
from tests.factories import new_reseller
from tests.files.fileserver import FileServer
from tests.webhooks.support import register_webhook, running_receiver

from .crashkit import (
    LONG,
    Intake,
    Service,
    assert_background_done,
    assert_intact,
    census,
    filing,
    report,
    sqlite_integrity,
    wait_for_background,
)

ROUNDS = 25 if LONG else 5
UP_SECONDS = (0.5, 5.0) if LONG else (0.2, 0.8)  # how long the server serves before it is killed
DOWN_SECONDS = (0, 0.3) if LONG else (0, 0.15)  # how long the port stays closed
CLIENTS = 8 if LONG else 4


def test_serve_killed_at_random_moments_loses_nothing(database_url: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("CLAIMDESK_RELIABILITY_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    db = Database(database_url)
    try:
        reseller = new_reseller(db, "Crash Prints")
    finally:
        db.dispose()
    sqlite = database_url.startswith("sqlite")
    integrity: list[str] = []
    started = time.monotonic()
    with FileServer() as files, running_receiver() as receiver:
        service = Service(database_url, tmp_path).start()
        try:
            with httpx.Client(base_url=service.url, timeout=30) as http:
                register_webhook(http, reseller, f"{receiver.url}/hooks", ["ticket.created"])
            intake = Intake(service.url, reseller.key, f"crash{seed}", files_url=files.url(""), clients=CLIENTS)
            with filing(intake):
                for _ in range(ROUNDS):
                    time.sleep(rng.uniform(*UP_SECONDS))
                    service.kill()
                    if sqlite:
                        integrity.append(sqlite_integrity(database_url))
                    time.sleep(rng.uniform(*DOWN_SECONDS))  # the clients meet a closed port meanwhile
                    service.start()
                # The last life acknowledges something too, then the clients finish what is in flight.
                intake.wait_for_acks(len(intake.acked) + 1)
                intake.stop()
            drained = time.monotonic()
            background = wait_for_background(database_url)
            drained = time.monotonic() - drained
            found = census(database_url, service.url, reseller.key, reseller.id, intake)
            engine = sa.create_engine(database_url)
            try:
                with engine.connect() as conn:
                    # A delivery's webhook-id is its event's: msg_<event id>, on every attempt.
                    deliveries = [
                        f"msg_{row[0]}"
                        for row in conn.execute(
                            sa.text("SELECT event_id FROM webhook_deliveries WHERE kind = 'endpoint'")
                        )
                    ]
                    files_stored = conn.execute(
                        sa.text("SELECT count(*) FROM evidence_files WHERE state = 'stored'")
                    ).scalar_one()
            finally:
                engine.dispose()
        finally:
            service.stop()
        received = {r.headers.get("webhook-id") for r in receiver.received}
    if sqlite:
        integrity.append(sqlite_integrity(database_url))

    report(
        f"crash[{database_url.split(':', maxsplit=1)[0]}]",
        {
            "seed": seed,
            "kills": ROUNDS,
            "tickets_sent": len(intake.sent),
            "acknowledged": len(intake.acked),
            "already_received": sum(1 for s in intake.acked.values() if s == 200),
            "stored": found.tickets,
            "lost": len(found.lost),
            "duplicated": found.duplicated,
            "files_stored": files_stored,
            "deliveries": len(deliveries),
            "seconds": round(time.monotonic() - started, 1),
            "background_seconds_after": round(drained, 1),
            "answers": dict(intake.statuses),
        },
    )
    assert_intact(intake, found)
    assert len(intake.acked) > ROUNDS
    # The background work the tickets queued all ended, and ended well, despite the kills.
    assert_background_done(background, found.tickets)
    assert files_stored == 2 * found.tickets
    assert len(deliveries) == found.tickets  # one ticket.created delivery each, none twice
    assert background.get("webhook_deliveries.delivered") == len(deliveries), background
    assert set(deliveries) <= received  # each reached the receiver (perhaps twice: at least once)
    assert all(result == "ok" for result in integrity), integrity
