"""Fixtures: every API test runs against SQLite and a real, throwaway PostgreSQL, both migrated with
Alembic once per session and copied per test, through a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import settings as hypothesis_settings

from claimdesk.app import create_app
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.migrate import upgrade
from claimdesk.testing.postgres import PostgresServer
from claimdesk.testing.server import ThreadedServer

# CLAIMDESK_TEST_DATABASES=sqlite runs a quick local round on SQLite only; CI runs both.
DATABASES = [name.strip() for name in os.environ.get("CLAIMDESK_TEST_DATABASES", "sqlite,postgresql").split(",")]
TEMPLATE = "claimdesk_template"

# Hypothesis profiles: ``ci`` (the default) keeps hypothesis's own example counts and writes no example
# database (CI runs on a clean clone); ``HYPOTHESIS_PROFILE=long`` is the run by hand: 1000 examples for
# every @given without a count of its own, 100 state-machine examples of 40 steps and 2000 schemathesis ones per
# operation (docs/reliability.md, "Running the long versions").
hypothesis_settings.register_profile("ci", database=None)
hypothesis_settings.register_profile("long", max_examples=1000, database=None, deadline=None)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
hypothesis_settings.load_profile(PROFILE)
LONG_PROFILE = PROFILE == "long"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    upgrade(server.create_database(TEMPLATE))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "claimdesk.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "claimdesk.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    yield server.create_database(f"t_{uuid.uuid4().hex[:12]}", template=TEMPLATE)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Contract defaults except a generous rate limit; override this fixture in a module to change more."""
    return Settings(
        database_url=database_url,
        storage_dir=str(tmp_path / "files"),
        rate_limit="100000/minute",
        retry_base_seconds=0.05,
        allow_private_urls=False,
    )


@pytest.fixture
def server(settings: Settings, db: Database) -> Iterator[ThreadedServer]:
    with ThreadedServer(create_app(settings, database=db, worker=False)) as running:
        yield running


@pytest.fixture
def client(server: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
