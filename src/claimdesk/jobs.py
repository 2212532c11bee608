"""Background jobs in the database, written in the same transaction as the change that causes them.

Why a table of our own and not a job library: the work must be enqueued atomically with the ticket in the
service's own database, on SQLite and PostgreSQL alike. Procrastinate is PostgreSQL only; RQ, Dramatiq and
Celery need a broker outside the transaction; Huey has no PostgreSQL storage. The table is small: workers
claim due jobs with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serializes writers), a job
whose lease ran out (its worker died) is taken again, and handlers are idempotent, take ids and re-fetch.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.models import Job, utcnow
from claimdesk.models.rows import job_row
from claimdesk.unavailable import database_unavailable, first_line

log = logging.getLogger("claimdesk.jobs")


class Retry(Exception):
    """A transient failure (timeout, 5xx, connection error): try again later, with backoff."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class Fail(Exception):
    """A permanent failure (404, wrong type, too large): do not try again."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class JobName(enum.StrEnum):
    """Every kind of job, in one place: the services that enqueue them and the tasks that run them both
    name them from here, so that no service has to import a task module for a name."""

    FETCH_FILE = "fetch_file"  # files.tasks: download an evidence file (ref: the file)
    DISPATCH_EVENT = "dispatch_event"  # webhooks.tasks: fan an event out into deliveries (ref: the event)
    DELIVER_WEBHOOK = "deliver_webhook"  # webhooks.tasks: one attempt of a delivery (ref: the delivery)
    SEND_EMAIL = "send_email"  # mail.tasks: one e-mail (ref: an event or an endpoint; payload: template)


@dataclass(frozen=True, slots=True)
class JobRef:
    """What a handler gets: ids, never objects of another session."""

    id: int
    kind: str
    ref_id: int
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class JobKind:
    run: Callable[[Database, Settings, JobRef], None]
    max_attempts: Callable[[Settings], int] = field(default=lambda _settings: 5)
    # Called once when the job fails for good (after its last attempt, or at once on Fail).
    give_up: Callable[[Database, Settings, JobRef, str], None] | None = None
    # The same, but inside the transaction that marks the job failed: what it writes commits with the job's
    # end or not at all, so a crash in between cannot leave the job failed and its subject unfinished.
    give_up_in: Callable[[Session, Settings, JobRef, str], None] | None = None


KINDS: dict[str, JobKind] = {}


def register(kind: JobName, job_kind: JobKind) -> None:
    KINDS[kind.value] = job_kind


def enqueue(
    session: Session,
    kind: JobName,
    ref_id: int,
    payload: dict[str, Any] | None = None,
    *,
    run_at: dt.datetime | None = None,
) -> Job:
    now = utcnow()
    job = Job(**job_row(kind.value, ref_id, run_at or now, now), payload=payload or {})
    session.add(job)
    return job


def enqueue_many(session: Session, kind: JobName, ref_ids: Sequence[int]) -> None:
    """One job of ``kind`` per id, due now, in one statement (the intake path writes several per ticket)."""
    if ref_ids:
        now = utcnow()
        session.execute(sa.insert(Job), [job_row(kind.value, ref_id, now, now) for ref_id in ref_ids])


def backoff_seconds(attempts: int, base: float) -> float:
    """Exponential from ``base`` (attempt 1 waits about ``base``), with full jitter in [0.5, 1.5)."""
    exponent = min(max(attempts - 1, 0), 20)
    delay: float = base * (2**exponent) * (0.5 + random.random())  # noqa: S311 (jitter, not a secret)
    return delay


def claim(db: Database, worker_id: str, limit: int, lease_seconds: float = 300) -> list[JobRef]:
    """Take up to ``limit`` due jobs for this worker; no other worker gets them while the lease holds."""
    now = utcnow()
    with db.transaction() as session:
        due = (
            sa.select(Job)
            .where(
                Job.state == "queued",
                Job.run_at <= now,
                sa.or_(Job.locked_until.is_(None), Job.locked_until < now),
            )
            .order_by(Job.run_at, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        jobs = list(session.scalars(due))
        refs = []
        for job in jobs:
            job.attempts += 1
            job.locked_by = worker_id
            job.locked_until = now + dt.timedelta(seconds=lease_seconds)
            refs.append(JobRef(job.id, job.kind, job.ref_id, dict(job.payload), job.attempts))
        return refs


def renew(db: Database, worker_id: str, job_ids: Collection[int], lease_seconds: float) -> int:
    """Extend the lease of the jobs this worker is still running, so that a job that takes longer than one
    lease is not taken (and run a second time) by another worker. How many leases were extended."""
    if not job_ids:
        return 0
    with db.transaction() as session:
        result = session.execute(
            sa.update(Job)
            .where(Job.id.in_(list(job_ids)), Job.locked_by == worker_id, Job.state == "queued")
            .values(locked_until=utcnow() + dt.timedelta(seconds=lease_seconds))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class Runner:
    """Runs claimed jobs for one worker and records how each went (only while the job is still its own)."""

    def __init__(self, db: Database, settings: Settings, worker_id: str) -> None:
        self.db = db
        self.settings = settings
        self.worker_id = worker_id

    def _update_own(self, job: JobRef, **values: Any) -> bool:
        with self.db.transaction() as session:
            return self._update_own_in(session, job, **values)

    def _update_own_in(self, session: Session, job: JobRef, **values: Any) -> bool:
        result = session.execute(
            sa.update(Job)
            .where(Job.id == job.id, Job.locked_by == self.worker_id, Job.state == "queued")
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def _later(self, job: JobRef, error: str, delay: float, *, counts: bool = True) -> None:
        self._update_own(
            job,
            run_at=utcnow() + dt.timedelta(seconds=delay),
            locked_until=None,
            locked_by=None,
            last_error=error[:1000],
            attempts=job.attempts if counts else job.attempts - 1,
        )

    def _give_up(self, job: JobRef, kind: JobKind, error: str) -> None:
        values = {"state": "failed", "finished_at": utcnow(), "locked_until": None, "last_error": error[:1000]}
        if kind.give_up_in is None:
            done = self._update_own(job, **values)
        else:
            give_up_in = kind.give_up_in
            try:
                with self.db.transaction() as session:
                    done = self._update_own_in(session, job, **values)
                    if done:
                        give_up_in(session, self.settings, job, error)
            except Exception:
                # Nothing was written: the job stays claimed and is taken again once its lease runs out.
                log.exception("job %s (%s): giving up failed; it will be taken again", job.id, job.kind)
                return
        if done and kind.give_up is not None:
            kind.give_up(self.db, self.settings, job, error)

    def _retry_or_give_up(self, job: JobRef, kind: JobKind, error: str) -> None:
        if job.attempts < kind.max_attempts(self.settings):
            self._later(job, error, backoff_seconds(job.attempts, self.settings.retry_base_seconds))
        else:
            self._give_up(job, kind, error)

    def run(self, job: JobRef) -> None:
        kind = KINDS.get(job.kind)
        if kind is None:
            # Another worker build may know it; do not burn an attempt on it.
            log.warning("no handler for job kind %s (job %s); leaving it for later", job.kind, job.id)
            self._later(job, f"no handler for {job.kind}", 60, counts=False)
            return
        try:
            kind.run(self.db, self.settings, job)
        except Retry as exc:
            self._retry_or_give_up(job, kind, exc.error)
        except Fail as exc:
            self._give_up(job, kind, exc.error)
        except Exception as exc:
            if database_unavailable(exc):
                # Not the job's fault: it runs again later without using up an attempt (or, when the
                # database cannot even record that, once its lease has run out).
                log.warning("job %s (%s): the database is unavailable (%s)", job.id, job.kind, first_line(exc))
                error = f"database unavailable: {first_line(exc)}"
                self._later(job, error, self.settings.retry_base_seconds, counts=False)
                return
            log.exception("job %s (%s) crashed; it will be retried", job.id, job.kind)
            self._retry_or_give_up(job, kind, f"internal error: {exc!r}")
        else:
            self._update_own(job, state="done", finished_at=utcnow(), locked_until=None)


def purge_finished(db: Database, older_than: dt.timedelta = dt.timedelta(days=7)) -> int:
    with db.transaction() as session:
        result = session.execute(sa.delete(Job).where(Job.state == "done", Job.finished_at < utcnow() - older_than))
        return int(result.rowcount)  # type: ignore[attr-defined]
