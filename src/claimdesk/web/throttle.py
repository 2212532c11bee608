"""Failed sign-ins, counted per e-mail and per client address, and page views, counted per session and per
client address, with the ``limits`` package.

The counters live in ``CLAIMDESK_RATE_LIMIT_STORAGE`` like the API's quota: in memory for one process, in
Redis for a deployment of many. Only failed sign-ins count; a success clears its e-mail's count.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse, strategies

from claimdesk.limitstore import sync_storage


@dataclass(frozen=True, slots=True)
class Blocked:
    retry_after: int  # seconds


def _seconds_left(limiter: strategies.RateLimiter, item: RateLimitItem, key: str) -> int:
    """Seconds until the window that blocks ``key`` ends (at least one)."""
    reset_at, _remaining = limiter.get_window_stats(item, key)
    return max(1, int(reset_at - time.time()) + 1)


class SignInThrottle:
    def __init__(self, per_email: str, per_address: str, storage_uri: str) -> None:
        self._limiter = strategies.MovingWindowRateLimiter(sync_storage(storage_uri))
        self._email = parse(per_email)
        self._address = parse(per_address)

    @staticmethod
    def _email_key(email: str) -> str:
        # Hashed: whatever was typed into the field, the key stays short.
        return "signin-email:" + hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]

    def _checks(self, email: str, address: str) -> list[tuple[RateLimitItem, str]]:
        return [(self._email, self._email_key(email)), (self._address, f"signin-addr:{address}")]

    def blocked(self, email: str, address: str) -> Blocked | None:
        """Blocked when either count has reached its limit; says how long until one more try is allowed."""
        waits = []
        for item, key in self._checks(email, address):
            if not self._limiter.test(item, key):
                waits.append(_seconds_left(self._limiter, item, key))
        return Blocked(max(waits)) if waits else None

    def failed(self, email: str, address: str) -> None:
        for item, key in self._checks(email, address):
            self._limiter.hit(item, key)

    def succeeded(self, email: str) -> None:
        self._limiter.clear(self._email, self._email_key(email))


class PageLimit:
    """Page views per signed-in session and per client address, in fixed windows."""

    def __init__(self, per_session: str, per_address: str, storage_uri: str) -> None:
        self._limiter = strategies.FixedWindowRateLimiter(sync_storage(storage_uri))
        self._session = parse(per_session)
        self._address = parse(per_address)

    def hit(self, session_id: int | None, address: str) -> Blocked | None:
        """Count one page view; blocked when a count is past its limit, saying how long until the window
        that blocks ends. Anyone not signed in is counted by address only (a made-up cookie changes nothing)."""
        checks = [(self._address, f"page-addr:{address}")]
        if session_id is not None:
            checks.append((self._session, f"page-session:{session_id}"))
        waits = []
        for item, key in checks:
            if not self._limiter.hit(item, key):
                waits.append(_seconds_left(self._limiter, item, key))
        return Blocked(max(waits)) if waits else None
