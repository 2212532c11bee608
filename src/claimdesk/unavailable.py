"""When the database cannot serve (PostgreSQL stopped or restarting, a connection cut, the pool exhausted,
SQLite's disk full or the file locked for too long), a request answers ``503`` with ``Retry-After`` and the
contract's error shape, never ``500``: the client may send the same request again, and nothing of it was
stored (each unit of work commits whole or not at all).

Both roads to the database end here: the ORM's errors come wrapped by SQLAlchemy (``DBAPIError``, with
``connection_invalidated`` for a cut connection), the intake fast path's (``claimdesk.rawdb``) as the
driver raised them. A connection that failed is invalidated where it was used, and the pool's pre-ping
replaces stale ones, so the same process serves again as soon as the database is back.
"""

from __future__ import annotations

import sqlite3

import psycopg
import sqlalchemy as sa

from .exceptions import ClaimdeskError

RETRY_AFTER_SECONDS = 5

# SQLite's primary result codes that mean "not now" rather than "this statement is wrong".
_SQLITE_TRANSIENT = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_NOMEM,
    sqlite3.SQLITE_READONLY,  # the file system went read-only (or a WAL file could not be written)
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PROTOCOL,
}


class ServiceUnavailable(ClaimdeskError):
    """The database cannot serve right now; nothing of the request was stored."""

    status_code = 503
    page_title = "The service is briefly unavailable"

    def __init__(self, message: str | None = None, *, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(
            message or "The service is briefly unavailable; nothing was changed. Please try again shortly.",
            headers={"Retry-After": str(retry_after)},
        )


def _driver_error(exc: BaseException) -> BaseException:
    return exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc


def is_disk_full(exc: BaseException) -> bool:
    error = _driver_error(exc)
    if isinstance(error, sqlite3.Error):
        return (getattr(error, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_FULL
    return isinstance(error, psycopg.errors.DiskFull)


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is (for now) out of reach, rather than that our SQL is wrong."""
    if isinstance(exc, sa.exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    error = _driver_error(exc)
    if isinstance(error, sqlite3.Error):
        return (getattr(error, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_TRANSIENT
    # psycopg's OperationalError: the server is gone or going (admin shutdown, cannot connect now, too many
    # connections, the disk full), or the connection broke; its subclasses also cover serialization
    # failures and deadlocks, which a retry of the whole request resolves too.
    return isinstance(error, psycopg.OperationalError)


def first_line(exc: BaseException) -> str:
    """An error's first line, for a log line without the SQL and parameters SQLAlchemy appends."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def unavailable_for(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 for a database error that means "not now", else None (a fault of ours: a 500)."""
    if not database_unavailable(exc):
        return None
    if is_disk_full(exc):
        return ServiceUnavailable(
            "The service cannot store anything right now (its storage is full); nothing was changed. "
            "Please try again later."
        )
    return ServiceUnavailable()


# The exception classes whose handler asks ``unavailable_for``.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa.exc.DBAPIError,
    sa.exc.TimeoutError,
    sqlite3.Error,
    psycopg.Error,
)
