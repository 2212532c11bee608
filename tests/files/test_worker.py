"""Crash safety: a job whose worker died is taken again, a task run twice stores once, a killed worker
process loses nothing, and two workers never take the same job. Plus the worker embedded in the server."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from claimdesk import jobs
from claimdesk.app import create_app
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.files.tasks import fetch_file
from claimdesk.models import Job, utcnow
from claimdesk.testing.server import ThreadedServer

from .fileserver import PNG, FileHost
from .helpers import drain, fetch_jobs, file_ticket, stored_originals, ticket_files


def _expire_leases(db: Database) -> None:
    """What time does to a dead worker's claim: its lease runs out."""
    with db.transaction() as session:
        session.execute(
            sa.update(Job).where(Job.locked_until.is_not(None)).values(locked_until=utcnow() - dt.timedelta(seconds=1))
        )


def _claim_fetch(db: Database, worker_id: str) -> jobs.JobRef:
    claimed = [job for job in jobs.claim(db, worker_id, 10) if job.kind == "fetch_file"]
    assert len(claimed) == 1, claimed
    return claimed[0]


class TestCrashSafety:
    def test_a_job_whose_worker_died_is_taken_again(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost
    ) -> None:
        reseller, ticket = file_ticket(client, db, [files_host.url("/photo.png")])
        dead = _claim_fetch(db, "dead-worker")
        # While the lease holds, no other worker takes it.
        drain(db, settings, "live-worker")
        assert ticket_files(client, reseller, ticket)[0]["state"] == "pending"

        _expire_leases(db)
        drain(db, settings, "live-worker")
        (view,) = ticket_files(client, reseller, ticket)
        assert view["state"] == "stored"
        (job,) = fetch_jobs(db)
        assert (job.state, job.attempts, job.locked_by) == ("done", 2, "live-worker")

        # The dead worker wakes up and finishes its copy: nothing is fetched or changed.
        jobs.Runner(db, settings, "dead-worker").run(dead)
        (job,) = fetch_jobs(db)
        assert (job.state, job.attempts, job.locked_by) == ("done", 2, "live-worker")
        assert files_host.counts["/photo.png"] == 1

    def test_running_the_task_twice_stores_once(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost
    ) -> None:
        reseller, ticket = file_ticket(client, db, [files_host.url("/photo.png")])
        job = _claim_fetch(db, "worker-1")
        # The task completes, then the worker dies before recording the job as done...
        fetch_file(db, settings, job)
        stored = ticket_files(client, reseller, ticket)
        assert stored[0]["state"] == "stored"
        # ...so the job runs again once its lease is over.
        _expire_leases(db)
        drain(db, settings, "worker-2")
        assert ticket_files(client, reseller, ticket) == stored
        assert files_host.counts["/photo.png"] == 1
        assert len(stored_originals(settings)) == 1
        (row,) = fetch_jobs(db)
        assert (row.state, row.attempts) == ("done", 2)

    def test_a_killed_worker_process_loses_nothing(
        self,
        client: httpx.Client,
        db: Database,
        settings: Settings,
        files_host: FileHost,
        database_url: str,
        tmp_path: Path,
    ) -> None:
        reseller, ticket = file_ticket(client, db, [files_host.url("/hang.png")])
        env = {
            **os.environ,
            "CLAIMDESK_DATABASE_URL": database_url,
            "CLAIMDESK_ALLOW_PRIVATE_URLS": "true",
            "CLAIMDESK_STORAGE_DIR": settings.storage_dir,
            "CLAIMDESK_WORKER_POLL_SECONDS": "0.05",
        }
        command = [str(Path(sys.executable).with_name("claimdesk")), "worker"]
        log = tmp_path / "worker.log"
        with log.open("wb") as output:
            process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
            try:
                # The worker process is in the middle of the download when it is killed.
                assert files_host.hang_started.wait(60), log.read_text()
            finally:
                process.kill()
                process.wait(30)
        (job,) = fetch_jobs(db)
        assert (job.state, job.attempts) == ("queued", 1)
        assert job.locked_by is not None
        assert ticket_files(client, reseller, ticket)[0]["state"] == "pending"

        files_host.release.set()
        _expire_leases(db)
        drain(db, settings, "restarted-worker")
        (view,) = ticket_files(client, reseller, ticket)
        assert view["state"] == "stored"
        assert client.get(view["download_url"], headers=reseller.headers).content == PNG
        (job,) = fetch_jobs(db)
        assert (job.state, job.attempts) == ("done", 2)


class TestClaims:
    def test_two_workers_claiming_at_once_never_take_the_same_job(self, database_url: str) -> None:
        databases = [Database(database_url), Database(database_url)]
        try:
            with databases[0].transaction() as session:
                for ref in range(60):
                    jobs.enqueue(session, jobs.JobName.FETCH_FILE, ref)  # claimed, never run
            start = threading.Barrier(2)
            taken: list[list[int]] = [[], []]

            def work(index: int) -> None:
                start.wait()
                while claimed := jobs.claim(databases[index], f"worker-{index}", 3):
                    taken[index].extend(job.ref_id for job in claimed)

            threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert not set(taken[0]) & set(taken[1])
            assert sorted(taken[0] + taken[1]) == list(range(60))
        finally:
            for database in databases:
                database.dispose()


@pytest.fixture
def embedded(settings: Settings, db: Database) -> Iterator[httpx.Client]:
    """The server as ``claimdesk serve`` runs it: with the worker in-process."""
    with (
        ThreadedServer(create_app(settings, database=db, worker=True)) as running,
        httpx.Client(base_url=running.url, timeout=30) as http,
    ):
        yield http


class TestEmbeddedWorker:
    def test_files_are_fetched_in_the_background(
        self, embedded: httpx.Client, db: Database, files_host: FileHost
    ) -> None:
        reseller, ticket = file_ticket(embedded, db, [files_host.url("/photo.png"), files_host.url("/missing.png")])
        deadline = time.monotonic() + 60
        while any(f["state"] == "pending" for f in ticket_files(embedded, reseller, ticket)):
            assert time.monotonic() < deadline, "the embedded worker did not fetch the files"
            time.sleep(0.05)
        stored, missing = ticket_files(embedded, reseller, ticket)
        assert (stored["state"], missing["state"], missing["error"]) == ("stored", "failed", "not found (HTTP 404)")
