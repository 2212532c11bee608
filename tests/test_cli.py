"""The claimdesk command, run as a user would: a subprocess on a fresh SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from claimdesk.app import create_app
from claimdesk.config import Settings
from claimdesk.testing.server import ThreadedServer

# The installed console script, as a user runs it.
CLAIMDESK = [str(Path(sys.executable).with_name("claimdesk"))]


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "cli.db"


def run(database_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLAIMDESK_DATABASE_URL": f"sqlite:///{database_path}"}
    result = subprocess.run([*CLAIMDESK, *args], check=False, env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def printed(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(result.stdout)
    return body


class TestCli:
    def test_db_upgrade(self, database_path: Path) -> None:
        run(database_path, "db", "upgrade")
        assert database_path.exists()
        run(database_path, "db", "upgrade")  # again: nothing to do, no error

    def test_account_and_staff_keys_work_against_the_api(self, database_path: Path, tmp_path: Path) -> None:
        account = printed(run(database_path, "account", "create", "Print Partners", "--json"))
        assert set(account) == {"account", "api_key", "callback_secret"}
        assert account["account"]["name"] == "Print Partners"
        assert isinstance(account["account"]["id"], int)
        assert account["callback_secret"].startswith("whsec_")

        staff = printed(run(database_path, "staff", "create", "Lead@Supplier.example", "--role", "admin", "--json"))
        assert set(staff) >= {"staff", "api_key", "password"}
        assert staff["staff"]["email"] == "lead@supplier.example"
        assert staff["staff"]["role"] == "admin"
        assert isinstance(staff["staff"]["id"], int)
        assert staff["password"]
        assert staff["api_key"] != account["api_key"]

        agent = printed(run(database_path, "staff", "create", "agent@supplier.example", "--json"))
        assert agent["staff"]["role"] == "agent"

        settings = Settings(database_url=f"sqlite:///{database_path}", storage_dir=str(tmp_path / "files"))
        with ThreadedServer(create_app(settings, worker=False)) as server, httpx.Client(base_url=server.url) as http:
            reseller = {"Authorization": f"Bearer {account['api_key']}"}
            answer = http.get("/account", headers=reseller)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {
                "id": account["account"]["id"],
                "name": "Print Partners",
                "callback_secret": account["callback_secret"],
            }
            staff_headers = {"Authorization": f"Bearer {staff['api_key']}"}
            assert http.get("/reasons", headers=staff_headers).status_code == 200
            assert http.get("/account", headers=staff_headers).status_code == 403

    def test_duplicate_staff_email_fails_cleanly(self, database_path: Path) -> None:
        run(database_path, "staff", "create", "agent@supplier.example", "--json")
        result = run(database_path, "staff", "create", "AGENT@supplier.example", "--json", check=False)
        assert result.returncode == 1
        assert "already exists" in result.stderr
        assert result.stdout == ""

    @pytest.mark.parametrize("name", ["", "   "])
    def test_empty_account_name_fails_cleanly(self, database_path: Path, name: str) -> None:
        result = run(database_path, "account", "create", name, "--json", check=False)
        assert result.returncode == 1
        assert "error" in result.stderr
        assert "Traceback" not in result.stderr

    def test_unknown_role_is_refused(self, database_path: Path) -> None:
        result = run(database_path, "staff", "create", "x@supplier.example", "--role", "boss", "--json", check=False)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
