"""The claimdesk command, run as a user would: a subprocess on a fresh SQLite file."""

from __future__ import annotations

import json
import os
import re
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


def _sign_in(http: httpx.Client, email: str, password: str) -> httpx.Response:
    page = http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return http.post("/login", data={"email": email, "password": password, "csrf_token": token.group(1)})


class TestPortalUsers:
    def test_add_list_remove_and_sign_in(self, database_path: Path, tmp_path: Path) -> None:
        account = printed(run(database_path, "account", "create", "Print Partners", "--json"))
        account_id = account["account"]["id"]
        added = printed(run(database_path, "account", "add-user", str(account_id), "Buyer@Reseller.example", "--json"))
        assert set(added) == {"user", "password"}
        assert set(added["user"]) == {"id", "email", "account_id"}
        assert added["user"]["email"] == "buyer@reseller.example"
        assert added["user"]["account_id"] == account_id
        assert isinstance(added["user"]["id"], int)
        human = run(database_path, "account", "add-user", str(account_id), "second@reseller.example")
        assert "second@reseller.example" in human.stderr + human.stdout
        assert "password" in human.stderr + human.stdout

        listed = run(database_path, "account", "users", str(account_id)).stdout
        assert "buyer@reseller.example" in listed
        assert "second@reseller.example" in listed
        assert added["password"] not in listed

        settings = Settings(
            database_url=f"sqlite:///{database_path}", storage_dir=str(tmp_path / "files"), secure_cookies=False
        )
        with ThreadedServer(create_app(settings, worker=False)) as server, httpx.Client(base_url=server.url) as http:
            answer = _sign_in(http, "buyer@reseller.example", added["password"])
            assert answer.headers["location"] == "/portal"
            assert http.get("/portal").status_code == 200
            removed = run(database_path, "account", "remove-user", str(account_id), "buyer@reseller.example")
            assert "removed" in removed.stderr
            # The session ended at once: the next page asks to sign in again.
            assert http.get("/portal").status_code == 303
        assert "buyer@reseller.example" not in run(database_path, "account", "users", str(account_id)).stdout

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["account", "add-user", "999", "a@reseller.example", "--json"], "Account 999 not found"),
            (["account", "add-user", "1", "not-an-email", "--json"], "not a valid e-mail address"),
            (["account", "users", "999"], "Account 999 not found"),
            (["account", "remove-user", "1", "nobody@reseller.example"], "no user with e-mail"),
        ],
    )
    def test_bad_input_fails_cleanly(self, database_path: Path, args: list[str], message: str) -> None:
        run(database_path, "account", "create", "Print Partners", "--json")
        result = run(database_path, *args, check=False)
        assert result.returncode == 1
        assert message in result.stderr.replace("\n", " ")
        assert "Traceback" not in result.stderr
        assert result.stdout == ""

    def test_duplicate_email_fails_cleanly(self, database_path: Path) -> None:
        run(database_path, "account", "create", "Print Partners", "--json")
        run(database_path, "account", "add-user", "1", "buyer@reseller.example", "--json")
        result = run(database_path, "account", "add-user", "1", "BUYER@reseller.example", "--json", check=False)
        assert result.returncode == 1
        assert "already exists" in result.stderr
        assert "Traceback" not in result.stderr

    def test_account_id_must_be_a_number(self, database_path: Path) -> None:
        result = run(database_path, "account", "add-user", "abc", "a@reseller.example", check=False)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
