"""``claimdesk db backup`` and ``claimdesk db restore``.

SQLite: a backup is a consistent copy of the live database made with SQLite's online backup API, in one step,
so that it is one read transaction: in WAL mode the service goes on writing meanwhile, and the copy holds
every transaction committed before it began (every ticket that had been answered ``201`` by then) and
nothing half-written. It is written to a temporary file beside the target, checked, and then renamed into
place, so a backup that was interrupted never looks like a finished one. The copy is a single file (its
journal mode is set back to DELETE); ``restore`` puts it back.

``restore`` refuses while any process has the database open (a running ``claimdesk serve`` or ``claimdesk
worker``): tickets acknowledged since the backup would vanish under clients that were told they were stored,
and the processes' caches would be wrong. Stop them first. It checks that the file is a claimdesk database
(SQLite's integrity check, and a migration this version of claimdesk knows), keeps a copy of the database it
replaces beside it, copies the backup in with the backup API (atomically: a crash during the restore leaves
the old database), and applies any newer migrations.

PostgreSQL has its own tools for this (``pg_dump`` / ``pg_restore``, or continuous archiving): the commands
print the ``pg_dump`` or ``pg_restore`` command for the configured database and do nothing themselves. The
password is never printed: give it through ``PGPASSWORD`` or a ``~/.pgpass`` file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shlex
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from .migrate import alembic_config, upgrade

SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(Exception):
    """The backup or restore cannot be made; the message says why. Nothing was changed."""


class UseOtherTool(Exception):
    """The database is PostgreSQL: ``command`` is what to run instead (without the password)."""

    def __init__(self, message: str, command: str) -> None:
        super().__init__(message)
        self.message = message
        self.command = command


@dataclass(frozen=True)
class Snapshot:
    """A SQLite database file as claimdesk sees it."""

    path: Path
    revision: str
    tickets: int
    size: int

    def describe(self) -> str:
        return f"{self.path} ({self.size:,} bytes, {self.tickets} tickets, migration {self.revision})"


@dataclass(frozen=True)
class Restored:
    snapshot: Snapshot
    database: Path
    previous: Path | None  # the copy of the database that was replaced
    upgraded_to: str | None  # the migration it was brought to, when the backup was older


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for any other database."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("the database is in memory; there is nothing on disk to back up")
    return Path(parsed.database)


def _postgres_command(url: str, tool: str, path: Path) -> str:
    parsed = sa.make_url(url)
    args = [tool]
    if tool == "pg_dump":
        args += ["--format=custom", f"--file={path}"]
    else:
        args += ["--clean", "--if-exists", "--no-owner", "--single-transaction"]
    if parsed.host:
        args.append(f"--host={parsed.host}")
    if parsed.port:
        args.append(f"--port={parsed.port}")
    if parsed.username:
        args.append(f"--username={parsed.username}")
    args.append(f"--dbname={parsed.database or 'postgres'}")
    if tool == "pg_restore":
        args.append(str(path))
    return shlex.join(args)


def _known_revisions(url: str) -> tuple[str, set[str]]:
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head()
    assert head is not None
    return head, {revision.revision for revision in script.walk_revisions()}


def inspect(path: Path) -> Snapshot:
    """What ``path`` holds, after checking it is a whole claimdesk database (else ``BackupError``)."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    with path.open("rb") as source:
        if source.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{path} is not a SQLite database")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"{path} is damaged: {'; '.join(map(str, problems[:5]))}")
            try:
                (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                (tickets,) = conn.execute("SELECT count(*) FROM tickets").fetchone()
            except (sqlite3.OperationalError, TypeError):
                raise BackupError(f"{path} is not a claimdesk database (no migrations or no tickets table)") from None
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} cannot be read as a database: {exc}") from None
    return Snapshot(path, str(revision), int(tickets), path.stat().st_size)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(url: str, target: Path) -> Snapshot:
    """A consistent copy of the live SQLite database at ``target``; ``UseOtherTool`` on PostgreSQL."""
    source = sqlite_path(url)
    if source is None:
        raise UseOtherTool(
            "The database is PostgreSQL: back it up with pg_dump (give the password through PGPASSWORD or "
            "~/.pgpass), or with the server's continuous archiving. Run:",
            _postgres_command(url, "pg_dump", target),
        )
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    target = target.resolve()
    if target.exists():
        raise BackupError(f"{target} exists already; give a new path (a backup never overwrites a file)")
    if target == source.resolve():
        raise BackupError("the backup cannot be the database itself")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30)) as live,
            contextlib.closing(sqlite3.connect(partial)) as copy,
        ):
            # pages=-1: the whole database in one step, hence one read transaction, one moment in time.
            live.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        with partial.open("rb+") as written:
            os.fsync(written.fileno())
        snapshot = inspect(partial)
        partial.rename(target)
        _fsync_directory(target.parent)
    except sqlite3.Error as exc:
        raise BackupError(f"the backup failed: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Snapshot(target, snapshot.revision, snapshot.tickets, snapshot.size)


@contextlib.contextmanager
def _alone(database: Path) -> Iterator[sqlite3.Connection]:
    """A connection that holds the database exclusively: no other process has it open, and none can open it
    until the restore is over. Raises ``BackupError`` when another process (a running server) has it open."""
    conn = sqlite3.connect(database, isolation_level=None, timeout=0)
    try:
        try:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.execute("COMMIT")  # the exclusive lock stays (locking_mode) until the connection closes
        except sqlite3.OperationalError:
            raise BackupError(
                f"{database} is in use by another process: stop `claimdesk serve` and `claimdesk worker` "
                "(every process using this database) first, then restore"
            ) from None
        yield conn
    finally:
        conn.close()


def restore(url: str, backup_file: Path) -> Restored:
    """Put ``backup_file`` back as the SQLite database of ``url``; ``UseOtherTool`` on PostgreSQL."""
    database = sqlite_path(url)
    if database is None:
        raise UseOtherTool(
            "The database is PostgreSQL: restore a pg_dump backup with pg_restore (stop the service first; "
            "give the password through PGPASSWORD or ~/.pgpass). Run:",
            _postgres_command(url, "pg_restore", backup_file),
        )
    snapshot = inspect(backup_file.resolve())
    head, known = _known_revisions(url)
    if snapshot.revision not in known:
        raise BackupError(
            f"{backup_file} is at migration {snapshot.revision}, which this version of claimdesk does not know "
            f"(it is at {head}): it was made by a newer claimdesk; restore it with that version"
        )
    previous = None
    if database.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        previous = database.with_name(f"{database.name}.before-restore-{stamp}")
        with _alone(database) as conn:
            try:
                with contextlib.closing(sqlite3.connect(previous)) as keep:
                    conn.backup(keep, pages=-1)
                    keep.execute("PRAGMA journal_mode=DELETE")
                with contextlib.closing(sqlite3.connect(f"file:{snapshot.path}?mode=ro", uri=True)) as source:
                    source.backup(conn, pages=-1)
            except sqlite3.Error as exc:
                raise BackupError(f"the restore failed, the database is unchanged: {exc}") from None
    else:
        database.parent.mkdir(parents=True, exist_ok=True)
        with (
            contextlib.closing(sqlite3.connect(f"file:{snapshot.path}?mode=ro", uri=True)) as source,
            contextlib.closing(sqlite3.connect(database)) as conn,
        ):
            source.backup(conn, pages=-1)
    upgraded_to = None
    if snapshot.revision != head:
        upgrade(url)
        upgraded_to = head
    return Restored(snapshot, database, previous, upgraded_to)
