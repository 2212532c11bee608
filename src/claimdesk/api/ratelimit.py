"""The per-key rate limit, on the ``limits`` package.

Counters live in ``CLAIMDESK_RATE_LIMIT_STORAGE``: in memory for one process, Redis for many.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlparse

from limits import parse

from claimdesk.limitstore import sync_storage


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


class _Counters(Protocol):
    def incr(self, key: str, expiry: int) -> int: ...
    def get_expiry(self, key: str) -> float: ...


class MemoryWindows:
    """Fixed windows in this process's memory (``memory://``): what ``limits``' MemoryStorage does for them
    (a window starts at its first hit and lasts the limit's period), without its expiry thread.

    MemoryStorage starts a ``threading.Timer`` of 10 ms on every hit that finds the last one ended, to drop
    expired counters: with requests more than 10 ms apart, a thread started and run per request (callgrind:
    0.145 M instructions per ticket at 1 in flight, 6 % of POST /tickets). Here an expired window is replaced
    when its key is next hit, and the expired ones are dropped when the table grows past ``max_keys``.
    """

    max_keys = 100_000

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (hits, when the window ends)
        self._lock = threading.Lock()

    def incr(self, key: str, expiry: int) -> int:
        with self._lock:
            now = time.time()
            window = self._windows.get(key)
            if window is None or window[1] <= now:
                if window is None and len(self._windows) >= self.max_keys:
                    self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
                window = (0, now + expiry)
            window = self._windows[key] = (window[0] + 1, window[1])
            return window[0]

    def get_expiry(self, key: str) -> float:
        window = self._windows.get(key)
        return window[1] if window is not None else time.time()


class RateLimiter:
    def __init__(self, rate: str, storage_uri: str) -> None:
        self.item = parse(rate)
        self.storage: _Counters
        if urlparse(storage_uri).scheme == "memory":
            self.storage = MemoryWindows()
        else:
            self.storage = sync_storage(storage_uri)
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
