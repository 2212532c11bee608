"""A client-side limiter: reads ``x-ratelimit-*`` from each answer and waits before the budget runs out.

The server counts calls per key in fixed windows and answers every authenticated call with
``x-ratelimit-limit``, ``x-ratelimit-remaining`` (after this call) and ``x-ratelimit-reset`` (milliseconds
until the window resets). The limiter keeps its own count of what is left, spends one unit per call it lets
through (so threads or tasks sending at once do not overshoot together) and, when nothing is left, says how
long to wait for the window to reset. A call that would have been a ``429`` waits instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

# Wait a little past the server's reset: clocks and the answer's travel time are not exact.
RESET_MARGIN_SECONDS = 0.05


class RateLimiter:
    """Shared by the calls of one client. ``clock`` is injectable for tests (``time.monotonic``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset_at: float | None = None

    def acquire(self) -> float:
        """Seconds to wait before sending (0: send now, and one unit of the budget is spent)."""
        with self._lock:
            now = self._clock()
            if self.reset_at is not None and now >= self.reset_at:
                # A new window: the budget is unknown until the next answer says it, so send.
                self.remaining = None
                self.reset_at = None
            if self.remaining is None:
                return 0.0
            if self.remaining > 0:
                self.remaining -= 1
                return 0.0
            assert self.reset_at is not None
            return max(0.0, self.reset_at - now)

    def update(self, headers: Mapping[str, str]) -> None:
        """Take in what an answer says about the budget; answers without the headers change nothing."""
        try:
            limit = int(headers["x-ratelimit-limit"])
            remaining = int(headers["x-ratelimit-remaining"])
            reset_ms = int(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return
        with self._lock:
            now = self._clock()
            reset_at = now + reset_ms / 1000 + RESET_MARGIN_SECONDS
            new_window = self.reset_at is None or reset_at > self.reset_at + 0.5
            self.limit = limit
            if new_window or self.remaining is None:
                self.remaining = remaining
            else:
                # Answers to calls sent at once arrive in any order: the lowest count is the latest.
                self.remaining = min(self.remaining, remaining)
            self.reset_at = reset_at

    def exhausted(self, retry_after: float) -> None:
        """A 429 came anyway (another process shares the key): nothing is left for ``retry_after`` seconds."""
        with self._lock:
            self.remaining = 0
            self.reset_at = self._clock() + retry_after
