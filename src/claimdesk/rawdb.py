"""The fast path under POST /tickets: statements prepared once, run on the DBAPI connection, and group commit.

Measured on the intake path, SQLAlchemy's ORM and Core spent about ten times as long preparing each statement
and its result as SQLite spent running it. The few statements of a hot path are therefore prepared once, at
import, in each driver's spelling, and run on the driver's own cursor. Their INSERTs are compiled by
SQLAlchemy from the models' tables (``Statement.insert``), so they cannot drift from the schema: the columns
they leave out get the database's defaults, as the ORM's rows do.

On SQLite, whose writers take turns anyway, one write connection takes the queued units of work together
(``GroupCommit``): one transaction per batch, a savepoint per unit that writes when the batch has more than
one (a unit that fails leaves no trace; one alone rolls the transaction back), the steps the units left for
the end (``Sql.before_commit``), one commit, and only then the answers. A 201 still means the ticket is
on disk; the disk is just asked once for many tickets. PostgreSQL runs each unit in its own transaction on
a pooled connection, in a thread, since its row locks let units on different orders run side by side and
its own commit path already groups flushes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as sa_postgresql
from sqlalchemy.dialects import sqlite as sa_sqlite

from .jsonfmt import json_text
from .timefmt import rfc3339
from .unavailable import database_unavailable, first_line

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger("claimdesk.db")

_RETURNING_ID = " RETURNING id"
_PARAM = re.compile(r"(?<![:\w]):(\w+)")


# The two drivers' dialects, to compile statements for once: pysqlite with ``:name`` parameters (the
# cursor takes a dict), psycopg with ``%(name)s`` and the bind casts SQLAlchemy itself sends there.
_psycopg: Callable[[], sa.Dialect] = sa_postgresql.psycopg.dialect  # the class is not annotated
_DIALECTS = {"sqlite": sa_sqlite.dialect(paramstyle="named"), "postgresql": _psycopg()}


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement, prepared once, in each driver's spelling.

    ``sqlite_insert`` is set for an INSERT whose id ``Sql.insert`` returns: the SQLite text without the
    RETURNING clause, since there the id is the row's rowid.
    """

    sqlite: str
    postgresql: str
    sqlite_insert: str | None = None

    @classmethod
    def of(cls, text: str) -> Statement:
        """A statement written by hand with ``:name`` parameters, for SQL the models do not spell (the order
        lines' claims and holders)."""
        text = " ".join(text.split())
        sqlite_insert = text[: -len(_RETURNING_ID)] if text.endswith(_RETURNING_ID) else None
        return cls(sqlite=text, postgresql=_PARAM.sub(r"%(\1)s", text), sqlite_insert=sqlite_insert)

    @classmethod
    def insert(
        cls, table: sa.Table, columns: Collection[str] | Mapping[str, str], *, returning_id: bool = False
    ) -> Statement:
        """``INSERT INTO table (columns) VALUES (:columns)``, compiled from ``table`` by SQLAlchemy.

        ``columns`` may map each column to the parameter it takes instead, so that one value written to
        several columns (the moment of a change) is bound once.

        Every column left out must get its value from the database: its server default, the id, or NULL
        when it has no default at all. A column left out whose default is Python's (the ORM would fill it
        in) or that is NOT NULL without a default is refused here, at import, rather than stored as NULL
        (or refused by the database) on every row the fast path writes.
        """
        unknown = sorted(set(columns) - set(table.c.keys()))
        if unknown:
            raise ValueError(f"{table.name} has no columns {unknown}")
        omitted = [c for c in table.c if c.key not in columns and c is not table.autoincrement_column]
        python_default = [c.key for c in omitted if c.default is not None]
        required = [c.key for c in omitted if c.default is None and c.server_default is None and not c.nullable]
        if python_default or required:
            raise ValueError(
                f"an INSERT INTO {table.name} must write {python_default + required}: "
                f"{python_default} have a Python default, which the ORM writes and the database does not know "
                "(make it a server_default, or write the column), "
                f"{required} are NOT NULL without a default"
            )
        # inline(): no implicit RETURNING of the primary key on PostgreSQL; the id is asked for or not at all.
        params = columns if isinstance(columns, Mapping) else {name: name for name in columns}
        insert = sa.insert(table).values({name: sa.bindparam(param) for name, param in params.items()}).inline()
        if not returning_id:
            return cls.compiled(insert)
        statement = cls.compiled(insert.returning(table.c.id))
        return cls(statement.sqlite, statement.postgresql, sqlite_insert=_compile(insert, "sqlite"))

    @classmethod
    def compiled(cls, statement: sa.ClauseElement) -> Statement:
        """A SQLAlchemy statement with ``bindparam`` parameters, compiled once for each driver."""
        return cls(sqlite=_compile(statement, "sqlite"), postgresql=_compile(statement, "postgresql"))


def _compile(statement: sa.ClauseElement, dialect: str) -> str:
    return str(statement.compile(dialect=_DIALECTS[dialect]))


class Sql:
    """A DBAPI connection with the few helpers the hand-written paths need."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection = connection
        self.postgresql = dialect == "postgresql"
        self.cursor = connection.cursor()
        self._time: tuple[dt.datetime, Any] | None = None
        # Set while a unit of a group runs: its first write opens a savepoint to roll back to. A unit that
        # only reads (most refusals) costs no savepoint, and a savepoint that succeeded is never released
        # on its own: the batch's COMMIT takes them all.
        self._savepoint_due = False
        self._savepoint_open = False
        # True while the unit shares its transaction with other units (a group commit of more than one): work
        # that is cheaper once per transaction than once per unit may then be left to ``before_commit``.
        self.shared = False
        self._before_commit: dict[Callable[[Sql], None], None] = {}  # run once each, in the order added

    def one(self, statement: Statement, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        self.cursor.execute(statement.postgresql if self.postgresql else statement.sqlite, params)
        row: tuple[Any, ...] | None = self.cursor.fetchone()
        return row

    def all(self, statement: Statement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        self.cursor.execute(statement.postgresql if self.postgresql else statement.sqlite, params)
        rows: list[tuple[Any, ...]] = self.cursor.fetchall()
        return rows

    # The statements pick their text and check ``_savepoint_due`` inline rather than in a helper method:
    # they run ten times a ticket.

    def run(self, statement: Statement, params: Mapping[str, Any]) -> None:
        if self._savepoint_due:
            self._open_savepoint()
        self.cursor.execute(statement.postgresql if self.postgresql else statement.sqlite, params)

    def run_many(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            if self._savepoint_due:
                self._open_savepoint()
            self.cursor.executemany(statement.postgresql if self.postgresql else statement.sqlite, rows)

    def insert(self, statement: Statement, params: Mapping[str, Any]) -> int:
        """Run an ``INSERT ... RETURNING id`` and return the id.

        On SQLite the RETURNING is left off and the id is the row's rowid (every table's ``id`` is an
        INTEGER PRIMARY KEY there): RETURNING goes through a temporary table and cost 40% more per insert.
        """
        if statement.sqlite_insert is None:
            raise ValueError(f"Sql.insert needs an INSERT ... RETURNING id, not: {statement.sqlite}")
        if self._savepoint_due:
            self._open_savepoint()
        if self.postgresql:
            row = self.one(statement, params)
            assert row is not None
            return int(row[0])
        self.cursor.execute(statement.sqlite_insert, params)
        rowid: int = self.cursor.lastrowid
        return rowid

    def _open_savepoint(self) -> None:
        self.cursor.execute("SAVEPOINT unit")
        self._savepoint_due = False
        self._savepoint_open = True

    def time(self, value: dt.datetime) -> Any:
        """A UTC time as the column stores it, as SQLAlchemy's UTCDateTime writes it: on SQLite the fixed-width
        text 'YYYY-MM-DD HH:MM:SS.ffffff', so that text order is time order."""
        if self._time is not None and self._time[0] is value:  # one change writes one time to many rows
            return self._time[1]
        stored: Any
        if self.postgresql:
            stored = value.astimezone(dt.UTC).replace(tzinfo=None)
        else:  # rfc3339's text, 'YYYY-MM-DDTHH:MM:SS.ffffffZ', which the ticket's view shows anyway
            text = rfc3339(value)
            stored = f"{text[:10]} {text[11:-1]}"
        self._time = (value, stored)
        return stored

    @staticmethod
    def json(value: Any) -> str:
        """A JSON column's value: text on SQLite; PostgreSQL casts the untyped text parameter to json."""
        return json_text(value)

    def before_commit(self, step: Callable[[Sql], None]) -> None:
        """Run ``step(sql)`` once at the end of this transaction, just before its COMMIT, outside any unit's
        savepoint: work that costs less done once for the units of a batch (``step`` must be harmless when
        the units that asked for it were rolled back)."""
        self._before_commit[step] = None

    def finish(self) -> None:
        """The ``before_commit`` steps; the caller commits next."""
        self._savepoint_due = False
        steps, self._before_commit = self._before_commit, {}
        for step in steps:
            step(self)

    def forget(self) -> None:
        """The transaction was rolled back: its ``before_commit`` steps are not run."""
        self._before_commit = {}

    def start_unit(self, *, shared: bool) -> None:
        """A unit of a batch begins. Alone in its batch (``shared`` False) it needs no savepoint: undoing it
        rolls back the whole transaction."""
        self.shared = shared
        self._savepoint_due = shared
        self._savepoint_open = False

    def undo_unit(self) -> None:
        """Roll back what the unit started by ``start_unit`` wrote, if it wrote anything; a unit alone in its
        batch ends the transaction so (the batch then has nothing to commit)."""
        if self._savepoint_open:
            self.cursor.execute("ROLLBACK TO SAVEPOINT unit")
        elif not self.shared and self.connection.in_transaction:
            self.cursor.execute("ROLLBACK")
            self.forget()
        self._savepoint_due = self._savepoint_open = False


Unit = Callable[..., Any]


@dataclass
class _Queued:
    unit: Unit
    args: tuple[Any, ...]
    future: asyncio.Future[Any]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the client went away; the unit's work stands (or was rolled back) regardless
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class GroupCommit:
    """One SQLite write connection; the units queued while a batch commits make the next batch.

    The units run on the event loop itself: handing each one to a writer thread cost more than the unit
    (a thread switch and a GIL hand-over for every statement). Only the waits leave the loop: the COMMIT
    (the disk flush) and, when another process holds the database, the BEGIN. While a batch commits, the
    loop goes on reading requests, which queue up for the next batch.

    The batch holds the Database's write lock, which the ORM's writers of this process take too. They run
    in threads (sync endpoints, the worker), never on the event loop, where they would wait for a lock that
    only the loop can release.
    """

    max_batch = 64

    def __init__(self, engine: sa.Engine, lock: threading.Lock) -> None:
        self._engine = engine
        self._lock = lock  # the Database's write lock: ORM writers of this process queue on it too
        self._pending: dict[asyncio.AbstractEventLoop, list[_Queued]] = {}
        self._pooled: Any = None
        self._connection: Sql | None = None
        self.commits = 0  # batches committed, for tests and metrics

    async def submit(self, unit: Unit, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            drain = loop.create_task(self._drain(loop, pending))
            drain.add_done_callback(_log_failure)
        pending.append(_Queued(unit, args, future))
        return await future

    async def _drain(self, loop: asyncio.AbstractEventLoop, pending: list[_Queued]) -> None:
        try:
            while pending:
                batch = pending[: self.max_batch]
                del pending[: len(batch)]
                await self._run_batch(batch)
        finally:
            del self._pending[loop]  # the next unit starts a new drain
            for item in pending:  # only when the drain itself was cancelled (the server is stopping)
                item.future.cancel()

    def _sql(self) -> Sql:
        if self._connection is None:
            self._pooled = self._engine.raw_connection()
            # Fail at once when another process holds the database: the waiting is done in a thread.
            self._pooled.driver_connection.execute("PRAGMA busy_timeout=0")
            self._connection = Sql(self._pooled.driver_connection, "sqlite")
        return self._connection

    async def _run_batch(self, batch: list[_Queued]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = [(None, asyncio.CancelledError())] * len(batch)
        try:
            if not self._lock.acquire(blocking=False):
                # Not cancellable: it returns holding the lock, which the finally below releases.
                await anyio.to_thread.run_sync(self._lock.acquire)
            try:
                sql = self._sql()
                try:
                    await self._begin(sql)
                    shared = len(batch) > 1
                    outcomes = [self._run_unit(sql, item, shared) for item in batch]
                    if sql.connection.in_transaction:  # not when a unit alone in its batch was rolled back
                        sql.finish()
                        await anyio.to_thread.run_sync(sql.cursor.execute, "COMMIT")
                        self.commits += 1
                except Exception as exc:  # begin, commit or the transaction failed: nothing of the batch is stored
                    if database_unavailable(exc):
                        log.warning("a group commit failed, %d units answered 503: %s", len(batch), first_line(exc))
                    else:
                        log.exception("a group commit failed; its %d units are answered with the error", len(batch))
                    self._roll_back(sql)
                    outcomes = [(None, exc)] * len(batch)
            finally:
                self._lock.release()
        finally:
            for item, (result, error) in zip(batch, outcomes, strict=True):
                _settle(item.future, result, error)

    def _roll_back(self, sql: Sql) -> None:
        """End the failed batch's transaction; a connection that cannot is replaced for the next batch."""
        sql.forget()
        try:
            if sql.connection.in_transaction:
                sql.cursor.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("the group commit's connection is replaced")
            self._pooled.invalidate()
            self._pooled = self._connection = None

    @staticmethod
    async def _begin(sql: Sql) -> None:
        try:
            sql.cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # busy: another process writes; wait for it off the loop
            await anyio.to_thread.run_sync(_begin_waiting, sql)

    @staticmethod
    def _run_unit(sql: Sql, item: _Queued, shared: bool) -> tuple[Any, BaseException | None]:
        sql.start_unit(shared=shared)
        try:
            result = item.unit(sql, *item.args)
        except Exception as exc:
            if not sql.connection.in_transaction:
                # SQLite rolled the whole transaction back (the disk is full, an I/O error): the units
                # before this one are gone with it, so the whole batch fails with this error.
                raise
            sql.undo_unit()  # the unit's error goes to its caller; the batch goes on
            return None, exc
        return result, None

    def stop(self) -> None:
        if self._pooled is not None and self._lock.acquire(timeout=30):
            try:
                self._pooled.close()
                self._pooled = self._connection = None
            finally:
                self._lock.release()


def _begin_waiting(sql: Sql) -> None:
    sql.cursor.execute("PRAGMA busy_timeout=30000")
    try:
        sql.cursor.execute("BEGIN IMMEDIATE")
    finally:
        sql.cursor.execute("PRAGMA busy_timeout=0")


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the group commit stopped", exc_info=task.exception())


def run_in_transaction(
    engine: sa.Engine, unit: Callable[Concatenate[Sql, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``unit(sql, ...)`` in a transaction of its own on a pooled connection; commits unless it raises.

    A unit that hits a unique constraint is run once more from the start: a concurrent transaction (another
    process) inserted the same row first, and the second run sees it (an idempotent retry, for example).
    """
    integrity_error = engine.dialect.loaded_dbapi.IntegrityError
    for attempt in (1, 2):
        pooled = engine.raw_connection()
        try:
            sql = Sql(pooled.driver_connection, engine.dialect.name)
            if not sql.postgresql:  # the connection autocommits (see db.py); writes go through GroupCommit
                sql.cursor.execute("BEGIN")
            try:
                result = unit(sql, *args, **kwargs)
                sql.finish()
                pooled.commit()
            except integrity_error:
                pooled.rollback()
                if attempt == 2:
                    raise
                continue
            except BaseException:
                _roll_back(pooled)
                raise
            return result
        finally:
            pooled.close()
    raise AssertionError("unreachable")


def _roll_back(pooled: Any) -> None:
    """End a failed unit's transaction; a connection that cannot (the server went away, the connection was
    cut) is dropped from the pool, not handed to the next unit."""
    try:
        pooled.rollback()
    except Exception:
        log.warning("a broken database connection is replaced", exc_info=True)
        pooled.invalidate()


async def run_unit(
    engine: sa.Engine,
    group: GroupCommit | None,
    limiter: anyio.CapacityLimiter,
    unit: Callable[Concatenate[Sql, P], T],
    *args: Any,
) -> T:
    """``unit`` in the group commit when there is one, else in a transaction of its own in a thread: at most
    ``limiter``'s number at once (the others wait on the event loop, not in threads)."""
    if group is not None:
        result: T = await group.submit(unit, *args)
        return result
    return await anyio.to_thread.run_sync(functools.partial(run_in_transaction, engine, unit, *args), limiter=limiter)
