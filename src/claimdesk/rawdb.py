"""The fast path under POST /tickets: hand-written statements on the DBAPI connection, and group commit.

Measured on the intake path, SQLAlchemy's ORM and Core spent about ten times as long preparing each statement
and its result as SQLite spent running it. The few statements of a hot path are therefore written by hand
here, once, with ``:name`` parameters on every driver, and run on the driver's own cursor.

On SQLite, whose writers take turns anyway, one thread owns a write connection and takes the queued units
of work together: one transaction per batch, a savepoint per unit (a unit that fails leaves no trace), one
commit, and only then the answers. A 201 still means the ticket is on disk; the disk is just asked once for
many tickets. PostgreSQL runs each unit in its own transaction on a pooled connection, in a thread, since its
row locks let units on different orders run side by side and its own commit path already groups flushes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import logging
import queue
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import anyio.to_thread
import sqlalchemy as sa

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger("claimdesk.db")

_PARAM = re.compile(r"(?<![:\w]):(\w+)")

# The text form SQLAlchemy gives a DateTime on SQLite: fixed width, so that text order is time order.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement, written once with ``:name`` parameters, in each driver's spelling."""

    sqlite: str
    postgresql: str

    @classmethod
    def of(cls, text: str) -> Statement:
        text = " ".join(text.split())
        return cls(sqlite=text, postgresql=_PARAM.sub(r"%(\1)s", text))


class Sql:
    """A DBAPI connection with the few helpers the hand-written paths need."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection = connection
        self.postgresql = dialect == "postgresql"
        self.cursor = connection.cursor()
        self._time: tuple[dt.datetime, Any] | None = None

    def _text(self, statement: Statement) -> str:
        return statement.postgresql if self.postgresql else statement.sqlite

    def one(self, statement: Statement, params: dict[str, Any]) -> tuple[Any, ...] | None:
        self.cursor.execute(self._text(statement), params)
        row: tuple[Any, ...] | None = self.cursor.fetchone()
        return row

    def all(self, statement: Statement, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        self.cursor.execute(self._text(statement), params)
        rows: list[tuple[Any, ...]] = self.cursor.fetchall()
        return rows

    def run(self, statement: Statement, params: dict[str, Any]) -> None:
        self.cursor.execute(self._text(statement), params)

    def run_many(self, statement: Statement, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.cursor.executemany(self._text(statement), rows)

    def insert(self, statement: Statement, params: dict[str, Any]) -> int:
        """Run an ``INSERT ... RETURNING id`` and return the id."""
        row = self.one(statement, params)
        assert row is not None
        return int(row[0])

    def time(self, value: dt.datetime) -> Any:
        """A UTC time as the column stores it (as SQLAlchemy's UTCDateTime would write it)."""
        if self._time is not None and self._time[0] is value:  # one change writes one time to many rows
            return self._time[1]
        naive = value.astimezone(dt.UTC).replace(tzinfo=None)
        stored = naive if self.postgresql else naive.strftime(_SQLITE_TIME)
        self._time = (value, stored)
        return stored

    @staticmethod
    def json(value: Any) -> str:
        """A JSON column's value: text on SQLite; PostgreSQL casts the untyped text parameter to json."""
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def savepoint(self) -> None:
        self.cursor.execute("SAVEPOINT unit")

    def release(self) -> None:
        self.cursor.execute("RELEASE SAVEPOINT unit")

    def rollback_to(self) -> None:
        self.cursor.execute("ROLLBACK TO SAVEPOINT unit")
        self.cursor.execute("RELEASE SAVEPOINT unit")


Unit = Callable[..., Any]


@dataclass
class _Queued:
    unit: Unit
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the client went away; the unit's work stands (or was rolled back) regardless
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class GroupCommit:
    """One thread, one SQLite write connection; each batch of queued units is one transaction."""

    max_batch = 128

    def __init__(self, engine: sa.Engine, lock: threading.Lock) -> None:
        self._engine = engine
        self._lock = lock  # the Database's write lock: ORM writers of this process queue on it too
        self._queue: queue.SimpleQueue[_Queued | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def submit(self, unit: Unit, *args: Any) -> Any:
        self._ensure_started()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Queued(unit, args, future, loop))
        return await future

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="claimdesk-group-commit", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)

    def _serve(self) -> None:
        pooled = self._engine.raw_connection()
        try:
            sql = Sql(pooled.driver_connection, "sqlite")
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < self.max_batch:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        self._queue.put(None)  # stop after this batch
                        break
                    batch.append(item)
                self._run_batch(sql, batch)
        finally:
            pooled.close()

    def _run_batch(self, sql: Sql, batch: list[_Queued]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = []
        with self._lock:
            try:
                sql.cursor.execute("BEGIN IMMEDIATE")
                for item in batch:
                    sql.savepoint()
                    try:
                        outcomes.append((item.unit(sql, *item.args), None))
                        sql.release()
                    except Exception as exc:  # the unit's error goes to its caller; the batch goes on
                        sql.rollback_to()
                        outcomes.append((None, exc))
                sql.cursor.execute("COMMIT")
            except Exception as exc:  # begin or commit failed: nothing of the batch is stored
                log.exception("a group commit failed; its %d units are answered with the error", len(batch))
                if sql.connection.in_transaction:
                    sql.cursor.execute("ROLLBACK")
                outcomes = [(None, exc)] * len(batch)
        for item, (result, error) in zip(batch, outcomes, strict=True):
            # RuntimeError: the caller's event loop is closed, the server is shutting down.
            with contextlib.suppress(RuntimeError):
                item.loop.call_soon_threadsafe(_settle, item.future, result, error)


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
            try:
                result = unit(sql, *args, **kwargs)
                pooled.commit()
            except integrity_error:
                pooled.rollback()
                if attempt == 2:
                    raise
                continue
            except BaseException:
                pooled.rollback()
                raise
            return result
        finally:
            pooled.close()
    raise AssertionError("unreachable")


async def run_unit(
    engine: sa.Engine, group: GroupCommit | None, unit: Callable[Concatenate[Sql, P], T], *args: Any
) -> T:
    if group is not None:
        result: T = await group.submit(unit, *args)
        return result
    return await anyio.to_thread.run_sync(functools.partial(run_in_transaction, engine, unit, *args))
