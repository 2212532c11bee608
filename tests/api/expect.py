"""Reading the contract's error shape in tests: ``{"error": "...", "errors": [{"loc", "code", "message"}]}``."""

from __future__ import annotations

from typing import Any

import httpx


def problems(response: httpx.Response) -> list[tuple[str, str]]:
    """Every (loc, code) of an error answer, in the order given."""
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("error"), str), body
    assert body["error"], body
    for item in body.get("errors", []):
        assert set(item) == {"loc", "code", "message"}, item
        assert item["message"], item
    return [(item["loc"], item["code"]) for item in body.get("errors", [])]


def refused(response: httpx.Response, status: int = 422) -> list[tuple[str, str]]:
    """The problems of an answer that must have ``status``."""
    assert response.status_code == status, response.text
    return problems(response)


def message_at(response: httpx.Response, loc: str) -> str:
    for item in response.json()["errors"]:
        if item["loc"] == loc:
            message: str = item["message"]
            return message
    raise AssertionError(f"no problem at {loc}: {response.text}")
