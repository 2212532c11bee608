"""``claimdesk db backup`` and ``claimdesk db restore``, run as commands.

SQLite: a backup taken while clients file tickets holds every ticket acknowledged before it began, each as it
was sent, and restores into a database that serves them; restore refuses while a server has the database
open, and refuses files that are no (whole) claimdesk database. PostgreSQL: the commands print the
``pg_dump``/``pg_restore`` command without the password, and that command, run as printed, backs up and
restores every ticket.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from claimdesk import backup
from claimdesk.db import Database
from claimdesk.testing.postgres import PostgresServer, _bin
from tests.conftest import DATABASES, TEMPLATE
from tests.factories import Reseller, new_reseller

from .crashkit import CLAIMDESK, LONG, Intake, Service, expected_view, filing, report, stored_view

BACKUPS = 5 if LONG else 1


def claimdesk(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLAIMDESK_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([CLAIMDESK, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def _reseller(url: str) -> Reseller:
    db = Database(url)
    try:
        return new_reseller(db, "Backup Prints")
    finally:
        db.dispose()


def _read_back(url: str, tmp_path: Path, reseller: Reseller, intake: Intake, ids: set[str]) -> list[str]:
    """The ids of ``ids`` that a server on ``url`` does not show as they were sent."""
    missing = []
    with (
        Service(url, tmp_path, worker=False, name="restored") as service,
        httpx.Client(base_url=service.url, headers=reseller.headers, timeout=30) as http,
    ):
        for ticket_id in sorted(ids):
            answer = http.get(f"/tickets/{ticket_id}")
            if answer.status_code != 200 or stored_view(answer.json()) != expected_view(intake.sent[ticket_id]):
                missing.append(ticket_id)
    return missing


def _tickets(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT external_id FROM tickets")}


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "live" / "claimdesk.db"
    path.parent.mkdir()
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.mark.skipif("sqlite" not in DATABASES, reason="CLAIMDESK_TEST_DATABASES leaves SQLite out")
class TestSqlite:
    def test_a_backup_under_write_load_restores_every_acknowledged_ticket(
        self, sqlite_url: str, tmp_path: Path
    ) -> None:
        reseller = _reseller(sqlite_url)
        live = Path(sqlite_url.removeprefix("sqlite:///"))
        taken: list[tuple[Path, set[str], set[str], float]] = []
        with Service(sqlite_url, tmp_path) as service:
            intake = Intake(service.url, reseller.key, "backup", clients=4)
            with filing(intake):
                for number in range(BACKUPS):
                    intake.wait_for_acks(len(intake.acked) + 10)  # under write load
                    with intake.lock:
                        acknowledged_before = set(intake.acked)
                    target = tmp_path / f"backup-{number}.db"
                    started = time.monotonic()
                    made = claimdesk(sqlite_url, "db", "backup", str(target))
                    seconds = time.monotonic() - started
                    with intake.lock:
                        sent_by_then = set(intake.sent)
                    assert made.returncode == 0, made.stderr
                    assert "backed up to" in made.stderr
                    taken.append((target, acknowledged_before, sent_by_then, seconds))
                intake.wait_for_acks(len(intake.acked) + 5)  # and tickets after the last backup
                intake.stop()
        assert intake.unexpected == []
        assert 500 not in intake.statuses

        checks = 0
        for target, acknowledged_before, sent_by_then, _seconds in taken:
            assert not target.with_name(f".{target.name}.partial").exists()
            in_backup = _tickets(target)
            assert acknowledged_before <= in_backup  # everything acknowledged before the backup began
            assert in_backup <= sent_by_then  # and nothing that had not been sent when it ended
            checks += len(acknowledged_before)
        # Restore the last backup over the live database (the server is stopped) and serve it again.
        target, acknowledged_before, _sent, _seconds = taken[-1]
        restored = claimdesk(sqlite_url, "db", "restore", str(target))
        assert restored.returncode == 0, restored.stderr
        assert "restored" in restored.stderr
        previous = [p for p in live.parent.iterdir() if ".before-restore-" in p.name]
        assert len(previous) == 1  # the database it replaced is kept
        assert _tickets(previous[0]) == set(intake.acked)
        assert _tickets(live) == _tickets(target)
        with contextlib.closing(sqlite3.connect(live)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert _read_back(sqlite_url, tmp_path, reseller, intake, acknowledged_before) == []
        report(
            "backup[sqlite]",
            {
                "backups": len(taken),
                "tickets_at_end": len(intake.acked),
                "acknowledged_before_backups_checked": checks,
                "restored_and_read_back": len(acknowledged_before),
                "lost": 0,
                "backup_seconds": [round(t[3], 2) for t in taken],
            },
        )

    def test_restore_refuses_while_a_server_has_the_database_open(self, sqlite_url: str, tmp_path: Path) -> None:
        backup_file = tmp_path / "backup.db"
        assert claimdesk(sqlite_url, "db", "backup", str(backup_file)).returncode == 0
        live = Path(sqlite_url.removeprefix("sqlite:///"))
        reseller = _reseller(sqlite_url)  # a change made after the backup
        with Service(sqlite_url, tmp_path):
            refused = claimdesk(sqlite_url, "db", "restore", str(backup_file))
        assert refused.returncode == 1
        assert "in use by another process" in refused.stderr
        assert "stop" in refused.stderr
        assert not [p for p in live.parent.iterdir() if ".before-restore-" in p.name]
        with contextlib.closing(sqlite3.connect(live)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM accounts")}
        assert reseller.name in names  # unchanged: the restore did not happen

    def test_a_backup_never_overwrites_and_restore_checks_what_it_is_given(
        self, sqlite_url: str, tmp_path: Path
    ) -> None:
        existing = tmp_path / "existing.db"
        existing.write_bytes(b"precious")
        refused = claimdesk(sqlite_url, "db", "backup", str(existing))
        assert refused.returncode == 1
        assert "exists already" in refused.stderr
        assert existing.read_bytes() == b"precious"

        not_sqlite = tmp_path / "notes.txt"
        not_sqlite.write_text("not a database")
        other_sqlite = tmp_path / "other.db"
        with contextlib.closing(sqlite3.connect(other_sqlite)) as conn:
            conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
        newer = tmp_path / "newer.db"
        backup.backup(sqlite_url, newer)
        with contextlib.closing(sqlite3.connect(newer)) as conn, conn:
            conn.execute("UPDATE alembic_version SET version_num = 'from_a_newer_claimdesk'")
        damaged = tmp_path / "damaged.db"
        backup.backup(sqlite_url, damaged)
        data = bytearray(damaged.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 4096] = b"\xa5" * 4096  # a page of garbage in the middle
        damaged.write_bytes(bytes(data))

        live = Path(sqlite_url.removeprefix("sqlite:///"))
        before = live.read_bytes()
        for path, reason in (
            (tmp_path / "missing.db", "does not exist"),
            (not_sqlite, "not a SQLite database"),
            (other_sqlite, "not a claimdesk database"),
            (newer, "made by a newer claimdesk"),
            (damaged, "damaged|cannot be read"),
        ):
            with pytest.raises(backup.BackupError, match=reason):
                backup.restore(sqlite_url, path)
        answer = claimdesk(sqlite_url, "db", "restore", str(damaged))  # the command says so, and fails
        assert answer.returncode == 1
        assert "error:" in answer.stderr
        assert live.read_bytes() == before


@pytest.mark.skipif("postgresql" not in DATABASES, reason="CLAIMDESK_TEST_DATABASES leaves PostgreSQL out")
def test_postgresql_backup_prints_the_pg_dump_command_which_works_as_printed(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    # The password never appears, whatever the URL holds.
    shown = claimdesk("postgresql+psycopg://claims:s3cr3t-pw@db.example:6543/claimdesk", "db", "backup", "x.dump")
    assert shown.returncode == 1
    assert "pg_dump" in shown.stderr
    assert shown.stdout.strip() == (
        "pg_dump --format=custom --file=x.dump --host=db.example --port=6543 --username=claims --dbname=claimdesk"
    )
    assert "s3cr3t" not in shown.stdout + shown.stderr

    url = pg_server.create_database(f"b_{uuid.uuid4().hex[:10]}", template=TEMPLATE)
    reseller = _reseller(url)
    with Service(url, tmp_path, worker=False) as service:
        intake = Intake(service.url, reseller.key, "pgbackup", clients=2)
        with filing(intake):
            intake.wait_for_acks(10)
            intake.stop()
    dump = tmp_path / "claimdesk.dump"
    printed = claimdesk(url, "db", "backup", str(dump))
    assert printed.returncode == 1
    command = printed.stdout.split()
    dumped = subprocess.run([_bin("pg_dump"), *command[1:]], capture_output=True, text=True, check=False)
    assert dumped.returncode == 0, dumped.stderr

    target = pg_server.create_database(f"r_{uuid.uuid4().hex[:10]}")
    with pytest.raises(backup.UseOtherTool) as printed_restore:
        backup.restore(target, dump)
    command = printed_restore.value.command.split()
    assert command[0] == "pg_restore"
    restored = subprocess.run([_bin("pg_restore"), *command[1:]], capture_output=True, text=True, check=False)
    assert restored.returncode == 0, restored.stderr
    assert _read_back(target, tmp_path, reseller, intake, set(intake.acked)) == []
    assert len(intake.acked) > 0
