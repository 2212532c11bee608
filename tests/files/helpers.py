"""Helpers for the evidence file tests: run the worker's jobs deterministically (claim and run until
nothing is due) instead of sleeping, and read what happened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from claimdesk import jobs
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.models import EvidenceFile, Job
from claimdesk.worker import load_handlers
from tests.factories import Reseller, new_order, new_reseller, ticket_body


def drain(db: Database, settings: Settings, worker_id: str = "test-worker", rounds: int = 100) -> None:
    """Claim and run due jobs, one worker, until none is due."""
    load_handlers()
    runner = jobs.Runner(db, settings, worker_id)
    for _ in range(rounds):
        claimed = jobs.claim(db, worker_id, 10)
        if not claimed:
            return
        for job in claimed:
            runner.run(job)
    raise AssertionError("jobs kept coming")


def with_settings(settings: Settings, **changes: Any) -> Settings:
    return Settings(**{**settings.model_dump(), **changes})


def file_ticket(
    client: httpx.Client, db: Database, urls: list[str], reseller: Reseller | None = None
) -> tuple[Reseller, dict[str, Any]]:
    """A ticket whose first product line names ``urls`` as evidence."""
    reseller = reseller or new_reseller(db)
    order = new_order(client, reseller)
    body = ticket_body(order)
    body["products"][0]["files"] = [{"uri": url} for url in urls]
    response = client.post("/tickets", json=body, headers=reseller.headers)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()["ticket"]
    return reseller, ticket


def ticket_files(client: httpx.Client, reseller: Reseller, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.get(f"/tickets/{ticket['id']}", headers=reseller.headers)
    assert response.status_code == 200, response.text
    files: list[dict[str, Any]] = response.json()["products"][0]["files"]
    return files


def fetch_jobs(db: Database) -> list[Job]:
    with db.session() as session:
        return list(session.scalars(sa.select(Job).where(Job.kind == "fetch_file").order_by(Job.id)))


def stored_originals(settings: Settings) -> list[Path]:
    root = Path(settings.storage_dir) / "originals"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def evidence(db: Database, file_id: int) -> EvidenceFile:
    with db.session() as session:
        file = session.get(EvidenceFile, file_id)
        assert file is not None
        return file
