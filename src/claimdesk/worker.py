"""The background worker: claims due jobs and runs them on a small thread pool.

A slow job (a dead webhook endpoint, a slow file host) holds one thread, never the others, and never
the API: ticket intake only writes a job row. ``claimdesk serve`` runs one in-process (embedded);
``claimdesk worker`` runs one on its own, any number of them against one PostgreSQL database.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from claimdesk import jobs
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.unavailable import database_unavailable, first_line

log = logging.getLogger("claimdesk.worker")


def load_handlers() -> None:
    """Import the modules that register job kinds."""
    import importlib

    for module in ("claimdesk.files.tasks", "claimdesk.webhooks.tasks"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


class Worker:
    def __init__(self, db: Database, settings: Settings, *, threads: int = 8) -> None:
        self.db = db
        self.settings = settings
        self.threads = threads
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._inflight: dict[Future[None], int] = {}  # running jobs and their ids
        self._last_purge = 0.0
        self._last_renewal = time.monotonic()
        self.runner = jobs.Runner(db, settings, self.id)
        load_handlers()

    def stop(self) -> None:
        self._stop.set()

    def run_once(self, pool: ThreadPoolExecutor) -> int:
        """Claim as many due jobs as there are free threads and start them; how many were started."""
        self._inflight = {f: job_id for f, job_id in self._inflight.items() if not f.done()}
        self._renew_leases()
        free = self.threads - len(self._inflight)
        if free <= 0:
            return 0
        claimed = jobs.claim(self.db, self.id, free, lease_seconds=self.settings.job_lease_seconds)
        for job in claimed:
            self._inflight[pool.submit(self.runner.run, job)] = job.id
        return len(claimed)

    def _renew_leases(self) -> None:
        """Every third of a lease, extend the leases of the jobs still running (a slow download)."""
        lease = self.settings.job_lease_seconds
        if time.monotonic() - self._last_renewal >= lease / 3:
            self._last_renewal = time.monotonic()
            jobs.renew(self.db, self.id, list(self._inflight.values()), lease)

    def run(self) -> None:
        unavailable_since = 0.0
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="claimdesk-job") as pool:
            while not self._stop.is_set():
                try:
                    started = self.run_once(pool)
                    if time.monotonic() - self._last_purge > 3600:
                        self._last_purge = time.monotonic()
                        jobs.purge_finished(self.db)
                except Exception as exc:
                    if not database_unavailable(exc):
                        log.exception("worker loop failed; retrying")
                    elif not unavailable_since:
                        log.warning("the database is unavailable; the worker waits for it: %s", first_line(exc))
                    unavailable_since = unavailable_since or time.monotonic()
                    started = 0
                else:
                    if unavailable_since:
                        log.info("the database is available again; the worker goes on")
                    unavailable_since = 0.0
                if not started:
                    # While the database is away, ask it less often (at most once a second).
                    poll = self.settings.worker_poll_seconds
                    self._stop.wait(max(poll, min(1.0, poll * 4)) if unavailable_since else poll)
            for future in self._inflight:
                future.cancel()


class EmbeddedWorker:
    """The worker in a thread of the API process (``claimdesk serve``)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.worker = Worker(db, settings)
        self.thread = threading.Thread(target=self.worker.run, name="claimdesk-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(timeout=30)


def run_forever(db: Database, settings: Settings) -> None:
    worker = Worker(db, settings)
    log.info("worker %s started", worker.id)
    try:
        worker.run()
    except KeyboardInterrupt:
        worker.stop()
