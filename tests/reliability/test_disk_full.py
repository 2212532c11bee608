"""The SQLite database full while clients file tickets: ``503`` with ``Retry-After`` (never ``500``),
nothing half-written, the integrity check ok, and the same process works again once there is room.

"Full" is SQLite's own limit, ``PRAGMA max_page_count``, set on every connection of a real ``claimdesk serve``
(``crashkit.limited_command``) and lifted while it runs; where the test may mount a file system (root with
CAP_SYS_ADMIN), the same happens once more for real, on a small tmpfs that a ballast file fills up.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from claimdesk.db import Database
from tests.factories import new_reseller
from tests.files.fileserver import FileServer

from .crashkit import (
    Intake,
    Service,
    assert_background_done,
    assert_intact,
    census,
    filing,
    limited_command,
    report,
    row_counts,
    sqlite_integrity,
    wait_for_background,
)


def _page_count(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        count: int = conn.execute("PRAGMA page_count").fetchone()[0]
        return count


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def _fill_and_free(
    database: Path,
    tmp_path: Path,
    *,
    prefix: list[str] | None,
    make_full: Callable[[], None],
    make_room: Callable[[], None],
    name: str,
) -> None:
    url = f"sqlite:///{database}"
    db = Database(url)
    try:
        reseller = new_reseller(db, "Full Prints")
    finally:
        db.dispose()
    with FileServer() as files, Service(url, tmp_path, prefix=prefix, name=name) as service:
        intake = Intake(service.url, reseller.key, name, files_url=files.url(""), clients=3)
        with filing(intake):
            _wait(lambda: len(intake.acked) >= 5, 30, "tickets before the disk fills")
            make_full()
            full_since = len(intake.acked)
            _wait(lambda: intake.statuses[503] >= 20, 30, "503s while the database is full")
            during = sqlite_integrity(url)
            acked_while_full = len(intake.acked) - full_since
            refused = intake.statuses[503]
            make_room()
            mark = len(intake.acked)
            recovery = _wait(lambda: len(intake.acked) >= mark + 5, 30, "tickets once there is room again")
            intake.stop()
        background = wait_for_background(url)
        found = census(url, service.url, reseller.key, reseller.id, intake)
        alive = service.process is not None and service.process.poll() is None
        log = service.log_text()
    counts = row_counts(url)
    report(
        f"disk_full[{name}]",
        {
            "tickets": found.tickets,
            "answered_503": refused,
            "acked_while_filling": acked_while_full,
            "recovery_seconds": round(recovery, 2),
            "lost": len(found.lost),
            "duplicated": found.duplicated,
            "answers": dict(intake.statuses),
        },
    )
    assert alive
    assert service.lives == 1
    assert during == "ok"
    assert sqlite_integrity(url) == "ok"
    assert "unexpected error" not in log, log[-3000:]
    assert_intact(intake, found)
    # Nothing half-written: each stored ticket with exactly what belongs to it.
    tickets = counts["tickets"]
    assert tickets == found.tickets
    assert counts == {
        "tickets": tickets,
        "lines": 2 * tickets,
        "files": 2 * tickets,
        "fetch_jobs": 2 * tickets,
        "created_events": tickets,
        "history": tickets,
    }
    assert_background_done(background, tickets)


def test_a_full_database_answers_503_and_works_again_once_there_is_room(sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "claimdesk.db"
    shutil.copyfile(sqlite_template, database)
    control = tmp_path / "max_page_count"

    def make_full() -> None:
        # A few pages of room are left: some tickets still fit, then the database is full.
        control.write_text(str(_page_count(database) + 4))

    def make_room() -> None:
        control.write_text("0")

    _fill_and_free(
        database,
        tmp_path,
        prefix=limited_command(control),
        make_full=make_full,
        make_room=make_room,
        name="max_page_count",
    )


@pytest.fixture
def small_file_system(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()}); max_page_count covers it")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_file_system_answers_503_and_works_again_once_space_is_freed(
    sqlite_template: Path, tmp_path: Path, small_file_system: Path
) -> None:
    database = small_file_system / "claimdesk.db"
    shutil.copyfile(sqlite_template, database)
    ballast = small_file_system / "ballast"

    def make_full() -> None:
        with ballast.open("wb", buffering=0) as out:
            for size in (1 << 16, 1 << 12, 1 << 9):
                try:
                    while True:
                        out.write(b"\0" * size)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise

    def make_room() -> None:
        ballast.unlink()

    _fill_and_free(database, tmp_path, prefix=None, make_full=make_full, make_room=make_room, name="tmpfs")
