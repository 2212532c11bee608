"""Worker jobs: ``dispatch_event`` fans an event out, ``deliver_webhook`` makes one attempt of a delivery.

Each takes an id, re-fetches and is safe to run twice. The HTTP request happens outside any transaction;
the attempt is recorded afterwards. Importing this module registers the jobs (and the e-mail job).
"""

from __future__ import annotations

import datetime as dt

from claimdesk import jobs
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.mail import tasks as mail_tasks
from claimdesk.models import utcnow

from . import delivery, service

# The whole attempt (connect, send, the answer's head and a little of its body) may take this many
# single-step timeouts; a trickling endpoint cannot hold a worker thread for longer.
WHOLE_ATTEMPT_TIMEOUTS = 3


def run_dispatch(db: Database, settings: Settings, job: jobs.JobRef) -> None:
    db.write(service.dispatch_event, job.ref_id, send_email=settings.smtp_url is not None)


def run_delivery(db: Database, settings: Settings, job: jobs.JobRef) -> None:
    planned = db.read(service.outgoing, job.ref_id)
    if planned is None:
        return
    if isinstance(planned, str):
        db.write(service.finish, job.ref_id, planned)
        return
    body = delivery.encode_body(planned.payload)
    headers = delivery.signed_headers(planned.secrets, planned.message_id, body, utcnow())
    result = delivery.post(
        planned.url,
        body,
        headers,
        allow_private=settings.allow_private_urls,
        timeout=settings.webhook_timeout_seconds,
        deadline=settings.webhook_timeout_seconds * WHOLE_ATTEMPT_TIMEOUTS,
    )
    db.write(
        service.record_attempt,
        job.ref_id,
        result,
        disable_after=dt.timedelta(seconds=settings.webhook_disable_after_seconds),
        notify=settings.smtp_url is not None,
        # The last attempt settles the delivery together with its record; give_up only covers crashes.
        last=job.attempts >= settings.webhook_max_attempts,
    )
    if not result.ok:
        raise jobs.Retry(result.error or "failed")


def give_up_delivery(db: Database, _settings: Settings, job: jobs.JobRef, error: str) -> None:
    db.write(service.finish, job.ref_id, error)


jobs.register(jobs.JobName.DISPATCH_EVENT, jobs.JobKind(run_dispatch, max_attempts=lambda _s: 10))
jobs.register(
    jobs.JobName.DELIVER_WEBHOOK,
    jobs.JobKind(run_delivery, max_attempts=lambda s: s.webhook_max_attempts, give_up=give_up_delivery),
)
mail_tasks.register_jobs()
