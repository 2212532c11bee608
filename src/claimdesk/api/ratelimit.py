"""The per-key rate limit, on the ``limits`` package.

Counters live in ``CLAIMDESK_RATE_LIMIT_STORAGE``: in memory for one process, Redis for many.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import parse, storage


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
        store = storage.storage_from_string(storage_uri)
        if not isinstance(store, storage.Storage):  # the async storages ("async+redis://") are not for us
            raise ValueError(f"{storage_uri}: not a synchronous limits storage")
        self.storage = store
        self._keys: dict[str, str] = {}

    def hit(self, key: str) -> Quota:
        # What FixedWindowRateLimiter.hit and get_window_stats do together, with the storage touched twice
        # instead of four times and the window's key built once per caller: this runs on every request.
        storage_key = self._keys.get(key)
        if storage_key is None:
            if len(self._keys) > 100_000:
                self._keys.clear()
            storage_key = self._keys[key] = self.item.key_for(key)
        count = self.storage.incr(storage_key, self.item.get_expiry())
        reset_ms = max(0, round((self.storage.get_expiry(storage_key) - time.time()) * 1000))
        return Quota(count <= self.item.amount, self.item.amount, max(0, self.item.amount - count), reset_ms)
