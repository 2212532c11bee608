"""The ``fetch_file`` job: download a file a ticket names by URL, check it, keep it.

It takes the file's id and re-reads it, and does nothing when the file is no longer pending, so running
it twice (a worker died after storing, before marking the job done) stores the file once. Transient
failures (timeouts, 5xx, 429, broken connections, a name that does not resolve) are retried with backoff;
permanent ones (404, not an image or PDF, too large, an address not allowed) fail at once. When a file
fails for good it is marked ``failed`` and ``ticket.file_failed`` is recorded, in the transaction that
ends the job.
"""

from __future__ import annotations

import functools
import logging

from sqlalchemy.orm import Session

from claimdesk import jobs
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.netguard import check_url

from . import service
from .content import NotAccepted
from .fetch import FetchError, FetchLimits, fetch
from .storage import get_storage

log = logging.getLogger("claimdesk.files")


def fetch_file(db: Database, settings: Settings, job: jobs.JobRef) -> None:
    uri = db.read(service.pending_fetch, job.ref_id)
    if uri is None:
        return
    guard = functools.partial(check_url, allow_private=settings.allow_private_urls)
    try:
        fetched = fetch(uri, limits=FetchLimits.from_settings(settings), guard=guard)
    except FetchError as exc:
        log.info("file %s: %s (%s)", job.ref_id, exc.message, "will retry" if exc.transient else "gives up")
        raise (jobs.Retry if exc.transient else jobs.Fail)(exc.message) from None
    with fetched.body:
        try:
            content = service.keep(
                get_storage(settings),
                fetched.body,
                size=fetched.size,
                sha256=fetched.sha256,
                thumbnail_px=settings.thumbnail_px,
            )
        except NotAccepted as exc:
            raise jobs.Fail(exc.message) from None
    db.write(service.mark_stored, job.ref_id, content)


def file_failed(session: Session, _settings: Settings, job: jobs.JobRef, error: str) -> None:
    service.mark_failed(session, job.ref_id, error)


jobs.register(
    jobs.JobName.FETCH_FILE,
    jobs.JobKind(
        run=fetch_file,
        max_attempts=lambda settings: settings.file_fetch_max_attempts,
        give_up_in=file_failed,
    ),
)
