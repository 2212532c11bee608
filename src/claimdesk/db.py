"""Engine, sessions and the unit of work.

SQLite runs in WAL mode. Its write transactions start with ``BEGIN IMMEDIATE`` so that a transaction
that reads and then writes can never fail half-way on a lock upgrade, and threads of one process queue
on a lock of their own instead of SQLite's sleeping busy handler. PostgreSQL uses row locks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

import anyio
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from .rawdb import GroupCommit, Sql, run_unit

P = ParamSpec("P")
T = TypeVar("T")


def _sqlite_setup(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed ticket survives a power cut, not only a crash of the process.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Savepoints (one per ticket of a group commit) journal the pages they change; kept in a temp
        # file, that copy cost as much as the inserts themselves. Temp tables and sorts stay in memory too.
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


DEFAULT_POOL_SIZE = 16


def create_engine(url: str, *, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=32,
        )
        _sqlite_setup(engine)
        return engine
    # PostgreSQL: the pool keeps ``pool_size`` connections open. A connection beyond them is closed again
    # when it is returned, and opening one costs the server a process: under load that churn took more
    # of PostgreSQL's time than the tickets. Intake therefore runs at most ``pool_size`` units at once
    # (``Database``); the overflow is only for the other paths' bursts.
    return sa.create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


class Database:
    """The service's handle on its database: read sessions, and write units of work that commit once."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # PostgreSQL: units of work in flight at once, each on a pooled connection in a thread.
        self._units = anyio.CapacityLimiter(pool_size)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        write_engine = self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        self._write = sessionmaker(write_engine, expire_on_commit=False)
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self.group = GroupCommit(self.engine, self._write_lock) if self._write_lock is not None else None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reading; it is rolled back at the end."""
        with self._read() as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: commits at the end unless an exception leaves it, then rolls back."""
        if self._write_lock is not None:
            with self._write_lock, self._write() as session, session.begin():
                yield session
        else:
            with self._write() as session, session.begin():
                yield session

    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args, **kwargs)`` in one unit of work; the answer is sent after the commit."""
        with self.transaction() as session:
            return fn(session, *args, **kwargs)

    async def run_write(self, unit: Callable[Concatenate[Sql, P], T], *args: Any) -> T:
        """``unit(sql, *args)`` as a unit of work on the DBAPI fast path (``claimdesk.rawdb``), off the event
        loop; answered after the commit. On SQLite it shares one commit with the units queued beside it."""
        return await run_unit(self.engine, self.group, self._units, unit, *args)

    async def run_read(self, unit: Callable[Concatenate[Sql, P], T], *args: Any) -> T:
        """``unit(sql, *args)`` on the fast path, for a unit that only reads."""
        return await run_unit(self.engine, None, self._units, unit, *args)

    def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.session() as session:
            return fn(session, *args, **kwargs)

    def dispose(self) -> None:
        if self.group is not None:
            self.group.stop()
        self.engine.dispose()
