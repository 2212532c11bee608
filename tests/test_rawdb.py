"""The fast path's unit of work: group commit on SQLite, a transaction per unit on PostgreSQL.

What POST /tickets promises rests on these: a 201 is sent only after the commit, a refused ticket leaves
nothing behind even when it shares a transaction with accepted ones, and a commit that fails answers every
ticket of its batch with the error and stores none of them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from claimdesk.db import Database
from claimdesk.models.base import UTCDateTime
from claimdesk.rawdb import Sql, Statement, run_in_transaction
from claimdesk.testing.postgres import PostgresServer

from .loopwatch import await_counting_ticks

INSERT = Statement.of("INSERT INTO scratch (value) VALUES (:value) RETURNING id")
COUNT = Statement.of("SELECT count(*) FROM scratch WHERE value = :value")


class Refused(Exception):
    pass


def insert(sql: Sql, value: str) -> int:
    return sql.insert(INSERT, {"value": value})


def insert_then_refuse(sql: Sql, value: str) -> int:
    sql.insert(INSERT, {"value": value})
    raise Refused(value)


def refuse(_sql: Sql, value: str) -> int:
    raise Refused(value)


def stored(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT value FROM scratch ORDER BY id")]


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    path = tmp_path / "scratch.db"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        connection.execute(
            "CREATE TABLE scratch (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE, parent_id INTEGER "
            "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    return path


@pytest.fixture
def sqlite_db(sqlite_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{sqlite_path}")
    try:
        yield database
    finally:
        database.dispose()


async def outcomes(db: Database, units: list[tuple[Any, str]]) -> list[Any]:
    return await asyncio.gather(*(db.run_write(unit, value) for unit, value in units), return_exceptions=True)


class TestGroupCommit:
    def test_units_queued_together_share_one_commit(self, sqlite_db: Database, sqlite_path: Path) -> None:
        values = [f"ticket-{i}" for i in range(20)]
        results = asyncio.run(outcomes(sqlite_db, [(insert, v) for v in values]))
        assert results == list(range(1, 21))
        assert stored(sqlite_path) == values
        assert sqlite_db.group is not None
        assert sqlite_db.group.commits == 1

    def test_a_refused_unit_leaves_nothing_and_its_batch_goes_on(self, sqlite_db: Database, sqlite_path: Path) -> None:
        units = [(insert, "a"), (insert_then_refuse, "b"), (refuse, "c"), (insert, "d")]
        results = asyncio.run(outcomes(sqlite_db, units))
        assert results[0] == 1
        assert isinstance(results[1], Refused)
        assert isinstance(results[2], Refused)
        assert isinstance(results[3], int)
        assert stored(sqlite_path) == ["a", "d"]

    def test_a_refused_unit_alone_in_its_batch_leaves_nothing(self, sqlite_db: Database, sqlite_path: Path) -> None:
        """Alone, a unit runs without a savepoint: refusing it rolls back the transaction, which then has
        nothing to commit; the next batch starts afresh."""
        assert sqlite_db.group is not None
        refused = asyncio.run(outcomes(sqlite_db, [(insert_then_refuse, "alone")]))
        assert isinstance(refused[0], Refused)
        assert sqlite_db.group.commits == 0
        assert asyncio.run(outcomes(sqlite_db, [(insert, "next")])) == [1]
        assert stored(sqlite_path) == ["next"]

    def test_before_commit_runs_once_per_batch_after_its_units(self, sqlite_db: Database, sqlite_path: Path) -> None:
        """A step the units ask for runs once, after the last of them and before the COMMIT, in the same
        transaction; one asked for by a refused unit alone is not run."""
        seen: list[list[str]] = []

        def tally(sql: Sql) -> None:
            seen.append([row[0] for row in sql.cursor.execute("SELECT value FROM scratch ORDER BY id")])

        def insert_tallied(sql: Sql, value: str) -> int:
            sql.before_commit(tally)
            return insert(sql, value)

        def refuse_tallied(sql: Sql, value: str) -> int:
            sql.before_commit(tally)
            return insert_then_refuse(sql, value)

        units = [(insert_tallied, "a"), (refuse_tallied, "b"), (insert_tallied, "c")]
        asyncio.run(outcomes(sqlite_db, units))
        assert seen == [["a", "c"]]
        asyncio.run(outcomes(sqlite_db, [(refuse_tallied, "d")]))
        assert seen == [["a", "c"]]
        assert stored(sqlite_path) == ["a", "c"]

    def test_a_constraint_violated_by_one_unit_only_fails_that_unit(
        self, sqlite_db: Database, sqlite_path: Path
    ) -> None:
        results = asyncio.run(outcomes(sqlite_db, [(insert, "same"), (insert, "same"), (insert, "other")]))
        assert results[0] == 1
        assert isinstance(results[1], sqlite3.IntegrityError)
        assert stored(sqlite_path) == ["same", "other"]

    def test_a_failed_commit_answers_every_unit_with_the_error_and_stores_none(
        self, sqlite_db: Database, sqlite_path: Path
    ) -> None:
        dangling = Statement.of("INSERT INTO scratch (value, parent_id) VALUES (:value, 99) RETURNING id")

        def insert_dangling(sql: Sql, value: str) -> int:
            sql.run(Statement.of("PRAGMA foreign_keys=ON"), {})
            return sql.insert(dangling, {"value": value})

        # The deferred foreign key is checked at COMMIT, which therefore fails for the whole batch.
        results = asyncio.run(outcomes(sqlite_db, [(insert, "a"), (insert_dangling, "b"), (insert, "c")]))
        assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
        assert stored(sqlite_path) == []
        # The connection is usable afterwards.
        assert asyncio.run(outcomes(sqlite_db, [(insert, "after")])) == [1]
        assert stored(sqlite_path) == ["after"]

    def test_a_connection_that_cannot_roll_back_is_replaced(self, sqlite_db: Database, sqlite_path: Path) -> None:
        group = sqlite_db.group
        assert group is not None
        assert asyncio.run(outcomes(sqlite_db, [(insert, "before")])) == [1]
        connection = group._sql()  # the test breaks the group's own connection
        real = connection.cursor

        class Broken:
            """A cursor whose COMMIT and ROLLBACK fail, as on a disk that went away."""

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

            def execute(self, statement: str, *params: Any) -> Any:
                if statement in ("COMMIT", "ROLLBACK"):
                    raise sqlite3.OperationalError("disk I/O error")
                return real.execute(statement, *params)

        connection.cursor = Broken()
        failed = asyncio.run(outcomes(sqlite_db, [(insert, "lost")]))
        assert isinstance(failed[0], sqlite3.OperationalError)
        assert asyncio.run(outcomes(sqlite_db, [(insert, "after")])) == [2]
        assert stored(sqlite_path) == ["before", "after"]

    def test_waits_for_another_process_off_the_event_loop(self, sqlite_db: Database, sqlite_path: Path) -> None:
        other = sqlite3.connect(sqlite_path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process is writing
        released = threading.Timer(0.5, lambda: other.execute("COMMIT"))

        async def scenario() -> tuple[Any, int]:
            released.start()
            return await await_counting_ticks(sqlite_db.run_write(insert, "waited"))

        try:
            result, ticks = asyncio.run(scenario())
        finally:
            released.join()
            other.close()
        assert result == 1
        assert ticks >= 20, "the event loop was blocked while the database was busy"
        assert stored(sqlite_path) == ["waited"]

    def test_the_write_connection_is_durable_and_journals_savepoints_in_memory(self, sqlite_db: Database) -> None:
        def read(sql: Sql) -> dict[str, Any]:
            return {
                name: sql.cursor.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("journal_mode", "synchronous", "foreign_keys", "temp_store")
            }

        # WAL, synchronous FULL (2: a 201 survives a power cut), foreign keys on, and the savepoint journal
        # in memory (2): in a temp file, it cost as much as the inserts of a ticket.
        expected = {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "temp_store": 2}
        assert asyncio.run(sqlite_db.run_write(read)) == expected
        assert asyncio.run(sqlite_db.run_read(read)) == expected


def with_scratch(db: Database) -> Database:
    metadata = sa.MetaData()
    sa.Table(
        "scratch",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("value", sa.String(100), nullable=False, unique=True),
    )
    metadata.create_all(db.engine)
    return db


class TestRunInTransaction:
    @pytest.fixture
    def scratch(self, db: Database) -> Database:
        return with_scratch(db)

    @pytest.fixture
    def postgres_scratch(self, pg_server: PostgresServer) -> Iterator[Database]:
        """On PostgreSQL only: on SQLite writers take turns (GroupCommit), so the race cannot happen."""
        database = Database(pg_server.create_database(f"t_{uuid.uuid4().hex[:12]}"))
        try:
            yield with_scratch(database)
        finally:
            database.dispose()

    def test_commits_and_rolls_back(self, scratch: Database) -> None:
        assert run_in_transaction(scratch.engine, insert, "kept") is not None
        with pytest.raises(Refused):
            run_in_transaction(scratch.engine, insert_then_refuse, "dropped")
        assert run_in_transaction(scratch.engine, count, "kept") == 1
        assert run_in_transaction(scratch.engine, count, "dropped") == 0

    def test_a_unit_that_loses_a_unique_race_runs_again(self, postgres_scratch: Database) -> None:
        """Another process inserts the same row between the unit's check and its insert: the second run
        sees it, as an idempotent retry of a ticket must."""
        scratch = postgres_scratch
        runs = 0

        def insert_once(sql: Sql, value: str) -> str:
            nonlocal runs
            runs += 1
            if count(sql, value):
                return "found"
            if runs == 1:  # the concurrent insert, committed by someone else
                run_in_transaction(scratch.engine, insert, value)
            insert(sql, value)
            return "inserted"

        assert run_in_transaction(scratch.engine, insert_once, "ticket-1") == "found"
        assert runs == 2
        assert run_in_transaction(scratch.engine, count, "ticket-1") == 1

    def test_postgresql_runs_at_most_pool_size_units_at_once(self, pg_server: PostgresServer) -> None:
        """Units beyond the pool wait on the event loop, so the pool never opens (and closes) extra
        connections for them; opening one costs PostgreSQL a process."""
        database = with_scratch(Database(pg_server.create_database(f"t_{uuid.uuid4().hex[:12]}"), pool_size=3))
        in_flight = peak = 0
        guard = threading.Lock()

        def slow_insert(sql: Sql, value: str) -> int:
            nonlocal in_flight, peak
            with guard:
                in_flight += 1
                peak = max(peak, in_flight)
            try:
                time.sleep(0.05)
                return insert(sql, value)
            finally:
                with guard:
                    in_flight -= 1

        try:
            ids = asyncio.run(outcomes(database, [(slow_insert, f"v{n}") for n in range(12)]))
            assert sorted(ids) == list(range(1, 13))
            assert peak == 3
            assert database.engine.pool.checkedin() == 3  # type: ignore[attr-defined]
        finally:
            database.dispose()


def count(sql: Sql, value: str) -> int:
    row = sql.one(COUNT, {"value": value})
    assert row is not None
    return int(row[0])


@given(st.datetimes(timezones=st.timezones()))
def test_times_are_written_as_the_orm_writes_them(value: dt.datetime) -> None:
    """The fast path and the ORM write the same text for a time, or text order would not be time order."""
    column = UTCDateTime()
    sqlite_dialect = sqlite.dialect()
    bind = column.dialect_impl(sqlite_dialect).bind_processor(sqlite_dialect)
    assert bind is not None
    sql = Sql(sqlite3.connect(":memory:"), "sqlite")
    assert sql.time(value) == bind(value)


def test_insert_refuses_a_statement_without_returning_id() -> None:
    """On SQLite the id is the rowid and RETURNING is cut off the text: a statement without it is refused
    rather than cut short."""
    sql = Sql(sqlite3.connect(":memory:"), "sqlite")
    sql.cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, value TEXT)")
    assert sql.insert(Statement.of("INSERT INTO t (value) VALUES (:value) RETURNING id"), {"value": "a"}) == 1
    with pytest.raises(ValueError, match="RETURNING id"):
        sql.insert(Statement.of("INSERT INTO t (value) VALUES (:value)"), {"value": "b"})
    assert sql.cursor.execute("SELECT value FROM t").fetchall() == [("a",)]


def test_insert_is_compiled_from_the_table_for_each_driver() -> None:
    """Columns may share one parameter; a column the table does not have is refused; SQLite's id is the rowid."""
    table = sa.Table(
        "t",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.String(30), nullable=False),
        sa.Column("updated_at", sa.String(30), nullable=False),
        sa.Column("state", sa.String(10), nullable=False, server_default="new"),
    )
    statement = Statement.insert(table, {"created_at": "now", "updated_at": "now"}, returning_id=True)
    assert statement.sqlite_insert == "INSERT INTO t (created_at, updated_at) VALUES (:now, :now)"
    assert statement.postgresql.startswith("INSERT INTO t (created_at, updated_at) VALUES (%(now)s::VARCHAR, %(now)s")
    assert statement.postgresql.endswith(" RETURNING t.id")
    sql = Sql(sqlite3.connect(":memory:"), "sqlite")
    table.create(sa.create_engine("sqlite://", creator=lambda: sql.connection))
    assert sql.insert(statement, {"now": "2026-12-01"}) == 1
    assert sql.cursor.execute("SELECT created_at, updated_at, state FROM t").fetchall() == [
        ("2026-12-01", "2026-12-01", "new")
    ]
    with pytest.raises(ValueError, match="no columns"):
        Statement.insert(table, ["created_at", "updated_at", "colour"])
