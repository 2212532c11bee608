"""The per-key rate limit, on the ``limits`` package.

Counters live in ``CLAIMDESK_RATE_LIMIT_STORAGE``: in memory for one process, Redis for many.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import parse, storage, strategies


@dataclass(frozen=True, slots=True)
class Quota:
    allowed: bool
    limit: int
    remaining: int
    reset_ms: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset_ms).encode()),
        ]


class RateLimiter:
    def __init__(self, rate: str, storage_uri: str) -> None:
        self.item = parse(rate)
        self.storage = storage.storage_from_string(storage_uri)
        self.strategy = strategies.FixedWindowRateLimiter(self.storage)

    def hit(self, key: str) -> Quota:
        allowed = self.strategy.hit(self.item, key)
        stats = self.strategy.get_window_stats(self.item, key)
        reset_ms = max(0, round((stats.reset_time - time.time()) * 1000))
        return Quota(allowed, self.item.amount, max(0, stats.remaining), reset_ms)
