"""The rows that more than one writer inserts, each built in one place.

The ORM's writers (services, ``claimdesk.jobs``) and the intake fast path's statements
(``claimdesk.tickets.repository``) take their rows from these builders, and the fast path's INSERTs name
exactly the keys of these row types (``columns``), so the two cannot write different columns. Columns a
row leaves out get the database's default (see ``models.base``).

Times and JSON come in the writer's own form: datetimes and dicts for SQLAlchemy, the stored text
(``Sql.time``, ``Sql.json``) on the fast path's DBAPI cursor.
"""

from __future__ import annotations

from typing import Any, TypedDict


class Stamp(TypedDict):
    """Who wrote a history entry or a message (``accounts.service.Actor.stamp``)."""

    by_type: str
    by_id: int | None
    by_name: str | None


class HistoryRow(Stamp):
    ticket_id: int
    action: str
    status: str
    at: Any


class _OnMessage(TypedDict, total=False):
    # Only a message's files name it: binding a NULL cost the fast path's file INSERT a fifth more.
    message_id: int


class FileRow(_OnMessage):
    ticket_id: int
    ticket_product_id: int | None
    position: int
    uri: str
    created_at: Any


class StoredFileRow(TypedDict):
    """A file uploaded with a new ticket (the portal's report form): already checked and in storage, so it
    is written ``stored``, with no URL to fetch and no job."""

    ticket_id: int
    ticket_product_id: int
    position: int
    filename: str | None
    state: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    thumbnail_key: str | None
    created_at: Any


class EventRow(TypedDict):
    account_id: int
    ticket_id: int
    type: str
    sequence: int
    ticket: Any
    created_at: Any


class JobRow(TypedDict):
    kind: str
    ref_id: int
    run_at: Any
    created_at: Any


def columns(row_type: Any) -> tuple[str, ...]:
    """The columns every row of a row type writes (its required keys), in declaration order: what a
    fast-path INSERT names."""
    required: frozenset[str] = row_type.__required_keys__
    return tuple(key for key in row_type.__annotations__ if key in required)


def history_row(ticket_id: int, action: str, status: str, by: Stamp, at: Any) -> HistoryRow:
    """A history entry; its ``details`` are the database's ``{}`` unless the writer adds some."""
    return {
        "ticket_id": ticket_id,
        "action": action,
        "status": status,
        "by_type": by["by_type"],
        "by_id": by["by_id"],
        "by_name": by["by_name"],
        "at": at,
    }


def file_row(
    ticket_id: int,
    position: int,
    uri: str,
    created_at: Any,
    *,
    ticket_product_id: int | None = None,
    message_id: int | None = None,
) -> FileRow:
    """An evidence file to fetch from ``uri``, on a product line or a message; its state is the database's
    default (``FILE_PENDING``) until the fetch job has run."""
    row: FileRow = {
        "ticket_id": ticket_id,
        "ticket_product_id": ticket_product_id,
        "position": position,
        "uri": uri,
        "created_at": created_at,
    }
    if message_id is not None:
        row["message_id"] = message_id
    return row


FILE_STORED = "stored"


def stored_file_row(
    ticket_id: int,
    ticket_product_id: int,
    position: int,
    *,
    filename: str | None,
    content_type: str,
    size: int,
    sha256: str,
    storage_key: str,
    thumbnail_key: str | None,
    created_at: Any,
) -> StoredFileRow:
    """An uploaded evidence file of a product line, stored before the ticket was written."""
    return {
        "ticket_id": ticket_id,
        "ticket_product_id": ticket_product_id,
        "position": position,
        "filename": filename,
        "state": FILE_STORED,
        "content_type": content_type,
        "size": size,
        "sha256": sha256,
        "storage_key": storage_key,
        "thumbnail_key": thumbnail_key,
        "created_at": created_at,
    }


def event_row(*, account_id: int, ticket_id: int, event_type: str, sequence: int, ticket: Any, at: Any) -> EventRow:
    """The ticket's event number ``sequence``; ``ticket`` is the reseller's view of it at that moment."""
    return {
        "account_id": account_id,
        "ticket_id": ticket_id,
        "type": event_type,
        "sequence": sequence,
        "ticket": ticket,
        "created_at": at,
    }


def job_row(kind: str, ref_id: int, run_at: Any, created_at: Any) -> JobRow:
    """A queued job (payload, state and attempts are the database's defaults)."""
    return {"kind": kind, "ref_id": ref_id, "run_at": run_at, "created_at": created_at}
