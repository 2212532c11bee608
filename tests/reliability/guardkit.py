"""Shared helpers of the guard tests (tenancy, keys, secrets, abuse limits): the ``claimdesk`` command run as
a user runs it, ``claimdesk serve`` as a real process with its log captured, and module-scoped databases."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from claimdesk.testing.postgres import PostgresServer

CLAIMDESK = str(Path(sys.executable).with_name("claimdesk"))
TEMPLATE = "claimdesk_template"  # the migrated template database of tests/conftest.py


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fresh_database(request: pytest.FixtureRequest, kind: str, folder: Path) -> str:
    """A migrated database of its own: a copy of the session's SQLite template, or a new PostgreSQL
    database made from its template."""
    if kind == "sqlite":
        path = folder / f"guard-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database(f"g_{uuid.uuid4().hex[:12]}", template=TEMPLATE)


def environment(database_url: str, folder: Path, **settings: str) -> dict[str, str]:
    """The process environment: this machine's, without any CLAIMDESK_* of the test runner, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMDESK_")}
    env.update(
        {
            "CLAIMDESK_DATABASE_URL": database_url,
            "CLAIMDESK_STORAGE_DIR": str(folder / "files"),
            "CLAIMDESK_SECURE_COOKIES": "false",
            "CLAIMDESK_RATE_LIMIT": "100000/minute",
        }
    )
    env.update({f"CLAIMDESK_{k.upper()}": v for k, v in settings.items()})
    return env


def cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([CLAIMDESK, *args], check=False, env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def cli_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(cli(env, *args, "--json").stdout)
    return body


class Served:
    """``claimdesk serve`` in a process of its own; everything it writes goes to ``log_path``."""

    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [CLAIMDESK, "serve", "--port", str(self.port), *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_up(self, timeout: float = 60) -> Served:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"claimdesk serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                httpx.get(self.url + "/reasons", timeout=2)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"claimdesk serve did not start:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        self._log.close()


@contextmanager
def serving(env: dict[str, str], log_path: Path, *args: str) -> Iterator[Served]:
    served = Served(env, log_path, *args)
    try:
        yield served.wait_up()
    finally:
        served.stop()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
