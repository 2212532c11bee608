"""The web pages' rate limit: per signed-in session and per client address, a friendly 429 page with
Retry-After past either; the API's per-key limit is separate. (The database plays no part: SQLite only.)"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.web.render import SESSION_COOKIE
from tests.factories import new_reseller
from tests.web.conftest import sign_in
from tests.web.test_sign_in import new_user

from .guardkit import fresh_database

PER_SESSION = 6
PER_ADDRESS = 16


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database(request, "sqlite", tmp_path)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "secure_cookies": False,
            "web_rate_limit_per_session": f"{PER_SESSION}/minute",
            "web_rate_limit_per_address": f"{PER_ADDRESS}/minute",
        }
    )


def assert_limited(answer: httpx.Response) -> None:
    assert answer.status_code == 429, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")
    wait = int(answer.headers["retry-after"])
    assert 1 <= wait <= 61
    assert "Too many requests" in answer.text
    assert f"please wait {wait} second" in answer.text


class TestPerSession:
    def test_a_session_past_its_limit_gets_the_429_page_and_others_are_served(
        self, server: object, db: Database, client: httpx.Client
    ) -> None:
        account = new_reseller(db)
        first_email, first_password = new_user(db, account.id, email="first@reseller.example")
        second_email, second_password = new_user(db, account.id, email="second@reseller.example")
        # GET and POST /login: two views counted by address (no session yet).
        assert sign_in(client, first_email, first_password).status_code == 303
        for _ in range(PER_SESSION):
            assert client.get("/portal/tickets").status_code == 200
        limited = client.get("/portal/tickets")
        assert_limited(limited)
        assert "Go to the portal" in limited.text  # the page still knows who is signed in
        # Forms too, before their CSRF check or anything else.
        assert client.post("/logout").status_code == 429

        # Another person from the same address has a session of their own (its address: 10 views so far).
        with httpx.Client(base_url=client.base_url, timeout=30) as other:
            assert sign_in(other, second_email, second_password).status_code == 303
            assert other.get("/portal").status_code == 200

        # The API's per-key limit is another count: the reseller's key is served.
        assert client.get("/reasons", headers=account.headers).status_code == 200


class TestPerAddress:
    def test_an_address_past_its_limit_gets_the_429_page_whatever_cookie_it_sends(
        self, server: object, db: Database, client: httpx.Client
    ) -> None:
        for _ in range(PER_ADDRESS):
            assert client.get("/login").status_code == 200
        assert_limited(client.get("/login"))
        # A made-up session cookie is no way round it: unknown sessions count by address.
        client.cookies.set(SESSION_COOKIE, secrets.token_urlsafe(32))
        assert_limited(client.get("/portal"))
        # Signing in is refused too while the address is over (the sign-in throttle counts failures apart).
        email, password = new_user(db)
        assert client.post("/login", data={"email": email, "password": password}).status_code == 429
        # The API is not a web page.
        reseller = new_reseller(db)
        assert client.get("/account", headers=reseller.headers).status_code == 200
