"""Background jobs in the database: written in the same transaction as the change that causes them.

``enqueue`` is all the request side needs. The worker (``worker.py``) claims due jobs, runs the handler
registered for their kind and records the outcome; handlers are idempotent, take ids and re-fetch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from .models import Job, utcnow


def enqueue(
    session: Session,
    kind: str,
    ref_id: int,
    payload: dict[str, Any] | None = None,
    *,
    run_at: dt.datetime | None = None,
) -> Job:
    job = Job(kind=kind, ref_id=ref_id, payload=payload or {}, run_at=run_at or utcnow())
    session.add(job)
    return job
