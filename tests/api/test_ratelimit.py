"""The per-key rate limit: x-ratelimit-* on every authenticated answer, then 429 with Retry-After."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from claimdesk.api.ratelimit import MemoryWindows, Quota, RateLimiter
from claimdesk.config import Settings
from claimdesk.db import Database
from tests.factories import Reseller, new_reseller


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "rate_limit": "5/minute",
        }
    )


@pytest.fixture
def reseller(db: Database) -> Reseller:
    return new_reseller(db)


def quota(response: httpx.Response) -> tuple[int, int, int]:
    headers = response.headers
    return (
        int(headers["x-ratelimit-limit"]),
        int(headers["x-ratelimit-remaining"]),
        int(headers["x-ratelimit-reset"]),
    )


class TestRateLimit:
    def test_headers_on_every_answer_then_429(self, client: httpx.Client, reseller: Reseller) -> None:
        answers = [
            client.get("/account", headers=reseller.headers),  # 200
            client.get("/tickets/nope", headers=reseller.headers),  # 404
            client.post("/tickets", json={}, headers=reseller.headers),  # 422
            client.post("/tickets", content=b"{", headers={**reseller.headers, "Content-Type": "application/json"}),
            client.post("/order", data={"a": "b"}, headers=reseller.headers),  # 415
        ]
        assert [a.status_code for a in answers] == [200, 404, 422, 400, 415]
        for remaining, answer in zip([4, 3, 2, 1, 0], answers, strict=True):
            limit, left, reset = quota(answer)
            assert (limit, left) == (5, remaining)
            assert 0 <= reset <= 60_000
        sixth = client.get("/account", headers=reseller.headers)
        assert sixth.status_code == 429
        assert sixth.json() == {"error": "Quota has been exceeded"}
        retry_after = int(sixth.headers["retry-after"])
        assert 1 <= retry_after <= 60
        assert quota(sixth)[:2] == (5, 0)
        # Still refused, and nothing behind the limit runs.
        refused = client.post("/order", json={"id": "x", "products": [{"amount": 1}]}, headers=reseller.headers)
        assert refused.status_code == 429

    def test_limit_is_per_key(self, client: httpx.Client, reseller: Reseller, db: Database) -> None:
        for _ in range(5):
            assert client.get("/account", headers=reseller.headers).status_code == 200
        assert client.get("/account", headers=reseller.headers).status_code == 429
        other = new_reseller(db)
        response = client.get("/account", headers=other.headers)
        assert response.status_code == 200
        assert quota(response)[1] == 4

    def test_basic_and_bearer_share_the_quota(self, client: httpx.Client, reseller: Reseller) -> None:
        for _ in range(5):
            assert client.get("/account", auth=(reseller.key, "")).status_code == 200
        assert client.get("/account", headers=reseller.headers).status_code == 429

    def test_unauthenticated_answers_do_not_count(self, client: httpx.Client, reseller: Reseller) -> None:
        for _ in range(6):
            assert client.get("/account", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert quota(client.get("/account", headers=reseller.headers))[1] == 4


class TestMemoryWindows:
    """The in-process counters behind ``memory://``: limits' fixed windows, without its expiry thread."""

    def test_a_window_counts_from_its_first_hit_until_its_period_ends(self, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = [1000.0]
        monkeypatch.setattr(time, "time", lambda: clock[0])
        limiter = RateLimiter("2/minute", "memory://")
        assert isinstance(limiter.storage, MemoryWindows)
        first = limiter.hit("reseller:1")
        assert first == Quota(allowed=True, limit=2, remaining=1, reset_ms=60_000)
        clock[0] += 10
        assert limiter.hit("reseller:1") == Quota(allowed=True, limit=2, remaining=0, reset_ms=50_000)
        assert limiter.hit("reseller:1") == Quota(allowed=False, limit=2, remaining=0, reset_ms=50_000)
        assert limiter.hit("reseller:2").remaining == 1  # per key
        clock[0] += 50  # the first window has ended: the next hit starts a new one
        assert limiter.hit("reseller:1") == Quota(allowed=True, limit=2, remaining=1, reset_ms=60_000)

    def test_no_thread_is_started(self) -> None:
        limiter = RateLimiter("100/second", "memory://")
        before = threading.active_count()
        for _ in range(20):
            limiter.hit("reseller:1")
            time.sleep(0.002)
        assert threading.active_count() == before

    def test_expired_windows_are_dropped_when_the_table_is_full(self, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = [1000.0]
        monkeypatch.setattr(time, "time", lambda: clock[0])
        windows = MemoryWindows()
        monkeypatch.setattr(windows, "max_keys", 3)
        for key in ("a", "b", "c"):
            windows.incr(key, 10)
        clock[0] += 5
        windows.incr("a", 10)  # a live window is kept
        clock[0] += 6  # a, b and c have ended
        windows.incr("d", 10)
        assert set(windows._windows) == {"d"}
        assert windows.get_expiry("a") == clock[0]  # as limits answers for a key it does not hold
