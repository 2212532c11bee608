"""Keys, passwords and session cookies never reach the logs: a small real run (accounts, users and staff made
with the command, keys used every accepted way, a wrong key, sign-ins right and wrong, a key rotated and
revoked) against ``claimdesk serve --log-level debug`` with SQL echo (statements and their parameters) on, and
every line it and the commands wrote is searched."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from claimdesk.web.render import SESSION_COOKIE
from tests.conftest import DATABASES
from tests.factories import order_body, ticket_body
from tests.web.conftest import sign_in

from .guardkit import bearer, cli, environment, fresh_database, serving


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database(request, request.param, tmp_path)


def run_json(env: dict[str, str], stderr: list[str], *args: str) -> dict[str, Any]:
    """The command's JSON (its stdout, where secrets are shown once by design); its stderr kept as log."""
    result = cli(env, *args, "--json")
    stderr.append(result.stderr)
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def session_cookie(base_url: str, email: str, password: str, wrong: str, page: str) -> str:
    """A wrong password first, then the right one: the session's cookie."""
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        refused = sign_in(browser, email, wrong)
        assert refused.status_code == 200
        assert "not right" in refused.text
        assert sign_in(browser, email, password).status_code == 303
        assert browser.get(page).status_code == 200
        return browser.cookies[SESSION_COOKIE]


def test_no_key_password_or_session_cookie_is_logged(database_url: str, tmp_path: Path) -> None:
    env = environment(database_url, tmp_path, sql_echo="true")
    stderr: list[str] = []
    account = run_json(env, stderr, "account", "create", "Logged Reseller")
    account_id = str(account["account"]["id"])
    first_key = str(account["api_key"])
    user = run_json(env, stderr, "account", "add-user", account_id, "buyer@logged.example")
    staff = run_json(env, stderr, "staff", "create", "agent@logged.example")
    wrong_key = f"cdk_{secrets.token_urlsafe(32)}"
    wrong_password = "wrong-password-" + secrets.token_hex(8)
    keys = [first_key, str(staff["api_key"]), wrong_key]
    passwords = [str(user["password"]), str(staff["password"]), wrong_password]
    cookies = []

    with serving(env, tmp_path / "serve.log", "--no-worker", "--log-level", "debug") as served:
        with httpx.Client(base_url=served.url, timeout=30) as client:
            basic = base64.b64encode(f"{first_key}:".encode()).decode()
            keys.append(basic)
            for header in (f"Bearer {first_key}", f"Basic {first_key}", f"Basic {basic}"):
                assert client.get("/account", headers={"Authorization": header}).status_code == 200
            assert client.get("/account", headers=bearer(wrong_key)).status_code == 401
            order = client.post("/order", json=order_body(), headers=bearer(first_key)).json()["order"]
            filed = client.post("/tickets", json=ticket_body(order, reason="missing"), headers=bearer(first_key))
            assert filed.status_code == 201, filed.text
            assert client.get("/staff/tickets", headers=bearer(str(staff["api_key"]))).status_code == 200

            user_email = str(user["user"]["email"])
            staff_email = str(staff["staff"]["email"])
            cookies.append(session_cookie(served.url, user_email, passwords[0], wrong_password, "/portal"))
            cookies.append(session_cookie(served.url, staff_email, passwords[1], wrong_password, "/console"))

            rotated = run_json(env, stderr, "account", "rotate-key", account_id)
            second_key = str(rotated["api_key"])
            keys.append(second_key)
            assert client.get("/account", headers=bearer(second_key)).status_code == 200
            assert client.get("/account", headers=bearer(first_key)).status_code == 200  # its grace period
            revoked = run_json(env, stderr, "account", "revoke-key", account_id, "--new-key")
            third_key = str(revoked["api_key"])
            keys.append(third_key)
            assert client.get("/account", headers=bearer(first_key)).status_code == 401
            assert client.get("/account", headers=bearer(third_key)).status_code == 200

            client.cookies.set(SESSION_COOKIE, cookies[0])
            assert client.get("/portal").status_code == 200
        log = served.log()

    logs = log + "\n".join(stderr)
    # The run was logged in detail: every request, and the SQL with its parameters.
    assert '"GET /account HTTP/1.1" 200' in log
    assert "SELECT" in log
    assert "[generated in" in log or "[cached since" in log  # SQLAlchemy's parameter lines
    found = [
        f"{kind} {value[:8]}..."
        for kind, values in (("key", keys), ("password", passwords), ("session cookie", cookies))
        for value in values
        if value in logs
    ]
    assert not found, f"in the logs: {found}"
