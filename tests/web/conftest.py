"""The web pages over HTTP (no browser): sign-in, sessions, CSRF, headers and error pages, on both databases."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from claimdesk.config import Settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        storage_dir=str(tmp_path / "files"),
        rate_limit="100000/minute",
        secure_cookies=False,  # httpx keeps Secure cookies for https only; the Secure flag has its own test
        signin_limit_per_email="3/15minutes",
        signin_limit_per_address="8/15minutes",
    )


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None, page.text[:500]
    return match.group(1)


def sign_in(client: httpx.Client, email: str, password: str, next_url: str | None = None) -> httpx.Response:
    token = csrf_of(client.get("/login"))
    form = {"email": email, "password": password, "csrf_token": token}
    if next_url is not None:
        form["next"] = next_url
    return client.post("/login", data=form)
