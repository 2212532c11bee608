"""The SDK against httpx.MockTransport: retries, backoff, the limiter, errors, configuration. Fake time:
nothing sleeps."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from claimdesk_client import (
    NO_RETRIES,
    APIError,
    AsyncClient,
    AuthenticationFailed,
    BadRequest,
    Client,
    ConfigurationError,
    Conflict,
    ConnectionFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    RetryPolicy,
    ServerError,
    TimedOut,
    ValidationFailed,
)
from claimdesk_client._limiter import RateLimiter

from .support import FakeTime

TICKET: dict[str, Any] = {
    "id": "complaint-77",
    "number": 1,
    "order_id": "o-1",
    "supplier_order_number": 5,
    "description": None,
    "reason": "damaged",
    "suggested_solution": "rework",
    "contact_email": "support@reseller.example",
    "status": "open",
    "products": [{"id": 17, "code": None, "amount": 2, "granted": None, "files": []}],
    "resolution": None,
    "history": [],
    "messages": [],
    "created_at": "2026-12-01T10:00:00Z",
    "updated_at": "2026-12-01T10:00:00Z",
}
BODY = {"order_id": "o-1", "reason": "damaged", "suggested_solution": "rework", "products": []}
Answer = httpx.Response | Exception


def created(status: int = 201) -> httpx.Response:
    message = "Ticket received" if status == 201 else "Ticket already received"
    return httpx.Response(status, json={"status": "open", "message": message, "ticket": TICKET})


class Script:
    """Answers each request with the next scripted answer (a response, or an exception to raise)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def make_client(script: Callable[[httpx.Request], httpx.Response], time: FakeTime, **options: Any) -> Client:
    options.setdefault("retry", RetryPolicy(random=lambda: 0.5))
    return Client(
        "http://claimdesk.test",
        "cdk_key",
        transport=httpx.MockTransport(script),
        sleep=time.sleep,
        clock=time.clock,
        **options,
    )


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


class TestRetries:
    def test_ticket_creation_is_retried_with_the_same_id_and_request_id(self, fake_time: FakeTime) -> None:
        script = Script(httpx.Response(500), httpx.ReadTimeout("slow"), created())
        with make_client(script, fake_time) as client:
            receipt = client.tickets.create(BODY)
        assert receipt.created
        ids = {b["id"] for b in script.bodies()}
        assert len(ids) == 1
        assert next(iter(ids)).startswith("tkt_")
        assert len({r.headers["x-request-id"] for r in script.requests}) == 1
        assert fake_time.sleeps == [0.375, 0.75]  # 0.5 * 2**n, with half of it jittered (random 0.5)

    def test_200_already_received_after_a_retry_is_success(self, fake_time: FakeTime) -> None:
        script = Script(httpx.RemoteProtocolError("dropped"), created(200))
        with make_client(script, fake_time) as client:
            receipt = client.tickets.create({**BODY, "id": "mine"})
        assert receipt.created
        assert not receipt.already_received
        assert [b["id"] for b in script.bodies()] == ["mine", "mine"]

    def test_200_on_the_first_attempt_is_already_received(self, fake_time: FakeTime) -> None:
        with make_client(Script(created(200)), fake_time) as client:
            receipt = client.tickets.create(BODY)
        assert receipt.already_received
        assert receipt.message == "Ticket already received"

    def test_a_call_that_is_not_idempotent_is_not_retried_once_sent(self, fake_time: FakeTime) -> None:
        script = Script(httpx.Response(503, json={"error": "down"}, headers={"x-request-id": "srv-1"}))
        with make_client(script, fake_time) as client, pytest.raises(ServerError) as caught:
            client.tickets.reply("t-1", "hello")
        assert caught.value.status == 503
        assert caught.value.request_id == "srv-1"
        assert len(script.requests) == 1

    def test_a_read_timeout_on_a_reply_is_not_retried(self, fake_time: FakeTime) -> None:
        script = Script(httpx.ReadTimeout("slow"))
        with make_client(script, fake_time) as client, pytest.raises(TimedOut) as caught:
            client.tickets.reply("t-1", "hello")
        assert isinstance(caught.value, ConnectionFailed)
        assert caught.value.status is None
        assert caught.value.request_id == script.requests[0].headers["x-request-id"]

    def test_a_connection_never_made_is_retried_for_every_call(self, fake_time: FakeTime) -> None:
        script = Script(httpx.ConnectError("refused"), httpx.Response(201, json=TICKET))
        with make_client(script, fake_time) as client:
            assert client.tickets.reply("t-1", "hello").id == "complaint-77"
        assert len(script.requests) == 2

    def test_429_waits_for_retry_after(self, fake_time: FakeTime) -> None:
        script = Script(
            httpx.Response(429, json={"error": "Quota has been exceeded"}, headers={"retry-after": "7"}),
            httpx.Response(200, json=TICKET),
        )
        with make_client(script, fake_time) as client:
            client.tickets.get("complaint-77")
        assert sum(fake_time.sleeps) >= 7
        assert len(script.requests) == 2

    def test_429_with_a_retry_after_too_long_is_raised(self, fake_time: FakeTime) -> None:
        script = Script(httpx.Response(429, json={"error": "Quota has been exceeded"}, headers={"retry-after": "120"}))
        with make_client(script, fake_time) as client, pytest.raises(RateLimited) as caught:
            client.tickets.get("x")
        assert caught.value.retry_after == 120
        assert caught.value.status == 429
        assert fake_time.sleeps == []

    def test_retries_are_bounded_and_grow_exponentially(self, fake_time: FakeTime) -> None:
        script = Script(*[httpx.Response(502, text="bad gateway")] * 5)
        policy = RetryPolicy(max_retries=4, backoff_base=1.0, backoff_max=5.0, random=lambda: 1.0)
        with make_client(script, fake_time, retry=policy) as client, pytest.raises(ServerError) as caught:
            client.reasons()
        assert len(script.requests) == 5
        assert fake_time.sleeps == [1.0, 2.0, 4.0, 5.0]  # capped at backoff_max
        assert caught.value.message == "bad gateway"

    def test_jitter_takes_off_up_to_half(self) -> None:
        low = RetryPolicy(random=lambda: 0.0)
        high = RetryPolicy(random=lambda: 0.999)
        assert low.backoff(3) == 1.0
        assert 1.99 < high.backoff(3) <= 2.0

    def test_no_retries(self, fake_time: FakeTime) -> None:
        script = Script(httpx.ConnectError("refused"))
        with make_client(script, fake_time, retry=NO_RETRIES) as client, pytest.raises(ConnectionFailed):
            client.reasons()

    def test_delete_answered_404_after_a_lost_answer_is_done(self, fake_time: FakeTime) -> None:
        script = Script(httpx.ReadTimeout("slow"), httpx.Response(404, json={"error": "Not found."}))
        with make_client(script, fake_time) as client:
            client.webhooks.delete(3)
        first_time = Script(httpx.Response(404, json={"error": "Not found."}))
        with make_client(first_time, fake_time) as client, pytest.raises(NotFound):
            client.webhooks.delete(3)


def quota(remaining: int, reset_ms: int = 5000, limit: int = 3) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(reset_ms),
    }


class TestLimiter:
    def test_waits_for_the_window_instead_of_collecting_429s(self, fake_time: FakeTime) -> None:
        script = Script(
            *[httpx.Response(200, json={"reasons": []}, headers=quota(r)) for r in (2, 1, 0)],
            httpx.Response(200, json={"reasons": []}, headers=quota(2, reset_ms=60_000)),
        )
        with make_client(script, fake_time) as client:
            for _ in range(3):
                client.reasons()
            assert fake_time.sleeps == []
            client.reasons()
        assert len(fake_time.sleeps) == 1
        assert 5.0 <= fake_time.sleeps[0] <= 5.1
        assert len(script.requests) == 4

    def test_calls_at_once_share_the_budget(self) -> None:
        time = FakeTime()
        limiter = RateLimiter(time.clock)
        limiter.update(quota(2, reset_ms=1000))
        assert [limiter.acquire() for _ in range(3)][:2] == [0.0, 0.0]
        assert limiter.acquire() > 0.9
        limiter.update(quota(5, reset_ms=1000))  # a late answer from the same window cannot raise the count
        assert limiter.acquire() > 0.9
        time.now += 1.1
        assert limiter.acquire() == 0.0

    def test_answers_without_the_headers_change_nothing(self) -> None:
        limiter = RateLimiter(FakeTime().clock)
        limiter.update({"x-ratelimit-remaining": "x"})
        assert limiter.acquire() == 0.0
        assert limiter.remaining is None

    def test_can_be_turned_off(self, fake_time: FakeTime) -> None:
        script = Script(*[httpx.Response(200, json={"reasons": []}, headers=quota(0))] * 2)
        with make_client(script, fake_time, rate_limit=False) as client:
            client.reasons()
            client.reasons()
        assert fake_time.sleeps == []


class TestErrors:
    def error(self, status: int, body: Any, **headers: str) -> APIError:
        script = Script(httpx.Response(status, json=body, headers={"x-request-id": "rid-9", **headers}))
        with make_client(script, FakeTime(), retry=NO_RETRIES) as client, pytest.raises(APIError) as caught:
            client.tickets.get("x")
        return caught.value

    def test_validation_failed_lists_every_error(self) -> None:
        errors = [
            {"loc": "products.0.files", "code": "files_required", "message": "Files are required."},
            {"loc": "contact_email", "code": "invalid_email", "message": "Not an e-mail address."},
        ]
        exc = self.error(422, {"error": "The request has 2 mistakes.", "errors": errors})
        assert isinstance(exc, ValidationFailed)
        assert [(e.loc, e.code, e.message) for e in exc.errors] == [tuple(e.values()) for e in errors]
        assert exc.codes == ["files_required", "invalid_email"]
        assert exc.status == 422
        assert exc.request_id == "rid-9"
        assert "rid-9" in str(exc)

    def test_conflict_names_the_ticket(self) -> None:
        exc = self.error(409, {"error": "already", "ticket": {"id": "t-1", "number": 4, "status": "open"}})
        assert isinstance(exc, Conflict)
        assert exc.ticket is not None
        assert (exc.ticket.id, exc.ticket.number, exc.ticket.status) == ("t-1", 4, "open")
        plain = self.error(409, {"error": "Order with customer order id 'x' already exists"})
        assert isinstance(plain, Conflict)
        assert plain.ticket is None

    @pytest.mark.parametrize(
        ("status", "kind"),
        [(401, AuthenticationFailed), (403, PermissionDenied), (404, NotFound), (400, BadRequest), (413, BadRequest)],
    )
    def test_each_status_has_its_class(self, status: int, kind: type[Exception]) -> None:
        exc = self.error(status, {"error": "no"})
        assert type(exc) is kind
        assert exc.status == status
        assert exc.request_id == "rid-9"

    def test_a_body_that_is_no_json(self) -> None:
        script = Script(httpx.Response(500, text="<html>oops</html>"))
        with make_client(script, FakeTime(), retry=NO_RETRIES) as client, pytest.raises(ServerError) as caught:
            client.reasons()
        assert caught.value.message == "<html>oops</html>"
        assert caught.value.request_id is None


class TestConfiguration:
    def test_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CLAIMDESK_URL", "http://env.test/")
        monkeypatch.setenv("CLAIMDESK_API_KEY", "cdk_env")
        script = Script(httpx.Response(200, json={"reasons": []}))
        with Client(transport=httpx.MockTransport(script), timeout=2.5) as client:
            client.reasons()
            assert client.base_url == "http://env.test"
            assert client._http.timeout.read == 2.5
        request = script.requests[0]
        assert str(request.url) == "http://env.test/reasons"
        assert request.headers["authorization"] == "Bearer cdk_env"
        assert request.headers["user-agent"].startswith("claimdesk-client/")

    def test_arguments_win(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CLAIMDESK_API_KEY", "cdk_env")
        client = Client("http://arg.test", "cdk_arg")
        assert client._http.headers["authorization"] == "Bearer cdk_arg"
        assert client.base_url == "http://arg.test"
        client.close()

    def test_no_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("CLAIMDESK_API_KEY", raising=False)
        with pytest.raises(ConfigurationError):
            Client("http://x.test")


class TestModelsAndPages:
    def test_unknown_fields_are_kept(self, fake_time: FakeTime) -> None:
        newer = {**TICKET, "priority": "high", "products": [{**TICKET["products"][0], "colour": "red"}]}
        with make_client(Script(httpx.Response(200, json=newer)), fake_time) as client:
            ticket = client.tickets.get("complaint-77")
        assert ticket.model_extra == {"priority": "high"}
        assert ticket.products[0].model_extra == {"colour": "red"}
        assert ticket.model_dump()["priority"] == "high"

    def test_pages_are_fetched_lazily(self, fake_time: FakeTime) -> None:
        pages = [
            httpx.Response(200, json={"tickets": [TICKET, {**TICKET, "id": "b"}], "next_cursor": "c1"}),
            httpx.Response(200, json={"tickets": [{**TICKET, "id": "c"}], "next_cursor": None}),
        ]
        script = Script(*pages)
        with make_client(script, fake_time) as client:
            tickets = client.tickets.list(status="open")
            assert script.requests == []
            assert next(tickets).id == "complaint-77"
            assert len(script.requests) == 1
            assert [t.id for t in tickets] == ["b", "c"]
        assert script.requests[0].url.params["status"] == "open"
        assert script.requests[1].url.params["cursor"] == "c1"


class TestAsyncClient:
    def test_retries_and_pages(self) -> None:
        time = FakeTime()
        script = Script(
            httpx.Response(503),
            created(),
            httpx.Response(200, json={"tickets": [TICKET], "next_cursor": "n"}),
            httpx.Response(200, json={"tickets": [{**TICKET, "id": "z"}], "next_cursor": None}),
        )

        async def handler(request: httpx.Request) -> httpx.Response:
            return script(request)

        async def scenario() -> tuple[bool, list[str]]:
            async with AsyncClient(
                "http://claimdesk.test",
                "cdk_key",
                transport=httpx.MockTransport(handler),
                sleep=time.async_sleep,
                clock=time.clock,
                retry=RetryPolicy(random=lambda: 0.0),
            ) as client:
                receipt = await client.tickets.create(BODY)
                ids = [t.id async for t in client.tickets.list()]
                return receipt.created, ids

        made, ids = asyncio.run(scenario())
        assert made
        assert ids == ["complaint-77", "z"]
        assert time.sleeps == [0.25]
        assert script.bodies()[0]["id"] == script.bodies()[1]["id"]
