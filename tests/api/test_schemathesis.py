"""Schemathesis against the live server's /openapi.json: whatever the reseller endpoints are sent, never a 5xx.

SQLite only: this is about the handlers' answers to odd input, which the other tests cover on both databases.
(schemathesis' own pytest plugin, ``from_fixture``, does not run on pytest 9 yet, so the operations'
strategies are driven by hypothesis directly.)
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from claimdesk.db import Database
from claimdesk.testing.server import ThreadedServer
from tests.factories import Reseller, new_order, new_reseller

OPERATIONS = [
    ("POST", "/tickets"),
    ("POST", "/tickets/validate"),
    ("GET", "/tickets"),
    ("GET", "/tickets/{ticket_id}"),
    ("POST", "/order"),
    ("POST", "/order/status"),
    ("GET", "/reasons"),
    ("GET", "/solutions"),
    ("GET", "/account"),
]


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "claimdesk.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def reseller(db: Database) -> Reseller:
    return new_reseller(db)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_server_errors(server: ThreadedServer, reseller: Reseller, method: str, path: str) -> None:
    with httpx.Client(base_url=server.url) as http:
        # The guide's example order, so that generated tickets can reach the rules behind the order lookup.
        new_order(http, reseller, id="my_weborder_1234")
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(base_url=server.url, headers=reseller.headers)
        assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text)

    check()
