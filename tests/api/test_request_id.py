"""x-request-id: on every answer (the caller's own when sane, else a new one) and in the log lines."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.logging import AccessFormatter

from claimdesk.api.requestid import RequestId, install_log_records, uvicorn_log_config
from claimdesk.app import create_app
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.testing.server import ThreadedServer
from tests.factories import new_order, new_reseller, ticket_body

NEW_ID = re.compile(r"[0-9a-f]{32}")


class TestOnEveryAnswer:
    def test_a_new_id_when_the_caller_sends_none(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        ids = [client.get("/reasons", headers=reseller.headers).headers["x-request-id"] for _ in range(3)]
        assert all(NEW_ID.fullmatch(i) for i in ids)
        assert len(set(ids)) == 3

    def test_the_callers_own_id_is_kept(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        order = new_order(client, reseller)
        response = client.post(
            "/tickets", json=ticket_body(order), headers={**reseller.headers, "x-request-id": "import-7:row-12"}
        )
        assert response.status_code == 201, response.text
        assert response.headers["x-request-id"] == "import-7:row-12"

    @pytest.mark.parametrize("sent", [b"has space", b"x" * 129, b"tab\tinside", "é".encode()])
    def test_an_insane_id_is_replaced(self, client: httpx.Client, db: Database, sent: bytes) -> None:
        reseller = new_reseller(db)
        response = client.get(
            "/account",
            headers=[(b"authorization", reseller.headers["Authorization"].encode()), (b"x-request-id", sent)],
        )
        assert response.status_code == 200
        assert NEW_ID.fullmatch(response.headers["x-request-id"])

    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [("GET", "/account", 401), ("GET", "/nowhere", 404), ("POST", "/tickets", 401), ("GET", "/tickets/x", 401)],
    )
    def test_errors_carry_it_too(self, client: httpx.Client, method: str, path: str, status: int) -> None:
        response = client.request(method, path, headers={"x-request-id": "abc-123"})
        assert response.status_code == status
        assert response.headers["x-request-id"] == "abc-123"

    def test_validation_errors_and_quota_answers(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        response = client.post("/tickets", json={}, headers={**reseller.headers, "x-request-id": "r-1"})
        assert response.status_code == 422
        assert response.headers["x-request-id"] == "r-1"
        assert "x-ratelimit-remaining" in response.headers


def test_an_unexpected_error_answers_500_with_the_id_and_logs_it(
    settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, database=db)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("bug")

    with ThreadedServer(app) as server, caplog.at_level(logging.ERROR, "claimdesk"):
        response = httpx.get(f"{server.url}/boom", headers={"x-request-id": "trace-500"})
    assert response.status_code == 500
    assert response.json() == {"error": "Something went wrong on our side; nothing was changed."}
    assert response.headers["x-request-id"] == "trace-500"
    logged = [r for r in caplog.records if r.name == "claimdesk" and r.getMessage() == "unexpected error"]
    assert [r.request_id for r in logged] == ["trace-500"]  # type: ignore[attr-defined]


def test_log_lines_written_during_a_request_carry_its_id(caplog: pytest.LogCaptureFixture) -> None:
    install_log_records()
    inner = FastAPI()
    log = logging.getLogger("claimdesk.test")

    @inner.get("/work")
    async def work() -> dict[str, bool]:
        log.warning("working")
        return {"ok": True}

    @inner.get("/sync-work")
    def sync_work() -> dict[str, bool]:  # runs in the thread pool: the id must follow it there
        log.warning("working in a thread")
        return {"ok": True}

    with ThreadedServer(RequestId(inner)) as server, caplog.at_level(logging.WARNING, "claimdesk.test"):
        first = httpx.get(f"{server.url}/work", headers={"x-request-id": "line-1"})
        second = httpx.get(f"{server.url}/sync-work")
    assert first.headers["x-request-id"] == "line-1"
    ids = [r.request_id for r in caplog.records if r.name == "claimdesk.test"]  # type: ignore[attr-defined]
    assert ids == ["line-1", second.headers["x-request-id"]]


def test_uvicorns_access_line_shows_the_id() -> None:
    install_log_records()
    fmt = uvicorn_log_config()["formatters"]["access"]["fmt"]
    record = logging.getLogRecordFactory()(
        "uvicorn.access",
        logging.INFO,
        "h",
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/x", "1.1", 200),
        None,
    )
    record.request_id = "abc"
    line = AccessFormatter(fmt, use_colors=False).format(record)
    assert line.endswith('"GET /x HTTP/1.1" 200 OK [abc]')
    # Outside any request the attribute is there too, so no format ever fails on it.
    plain = logging.getLogRecordFactory()("x", logging.INFO, "h", 1, "m", (), None)
    assert plain.request_id == "-"  # type: ignore[attr-defined]


def test_the_middleware_costs_microseconds() -> None:
    """The intake hot path pays for it on every ticket: keep it far below a ticket's ~600 µs."""

    async def app(_scope: Scope, _receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"x")]})

    async def send(_message: Message) -> None:
        return None

    async def receive() -> Message:
        return {}

    headers = [(b"host", b"x"), (b"authorization", b"Bearer k"), (b"content-type", b"application/json")]

    async def run(n: int, target: ASGIApp) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await target({"type": "http", "headers": headers}, receive, send)
        return (time.perf_counter() - start) / n

    n = 20_000
    bare = asyncio.run(run(n, app))
    with_id = asyncio.run(run(n, RequestId(app)))
    assert with_id - bare < 20e-6, f"{(with_id - bare) * 1e6:.1f} µs per request"
