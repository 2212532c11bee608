"""When to try a call again, and how long to wait: shared by ``Client`` and ``AsyncClient``.

A call is retried only where that is safe:

- on a ``429`` (the server did nothing) after ``Retry-After``, and on a connection that could not be made,
  every call;
- on a timeout, a broken connection or a ``5xx`` (the server may have acted), only calls marked
  idempotent: reads, ``/tickets/validate``, order status, and ticket creation, which sends the same ticket
  ``id`` every time so the server answers a repeat with the ticket it already has.

Waits grow exponentially with jitter ("equal jitter": half fixed, half random), are capped, and a
``Retry-After`` longer than the policy allows is not waited for: the ``RateLimited`` error is raised.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import httpx

from ._exceptions import ConnectionFailed, TimedOut, error_from_response

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is tried again.

    ``max_retries`` retries after the first attempt; the n-th wait is ``backoff_base * 2**(n-1)`` capped at
    ``backoff_max`` seconds, of which a random half is taken off (``random`` is injectable for tests).
    A ``Retry-After`` up to ``max_retry_after`` seconds is honoured (waited for, at least).
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_retry_after: float = 60.0
    random: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1 for the first)."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** (retry - 1))
        return ceiling / 2 + ceiling / 2 * self.random()


NO_RETRIES = RetryPolicy(max_retries=0)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API call: what to send, how to read a successful answer, and whether a repeat is harmless."""

    method: str
    path: str
    parse: Callable[[httpx.Response, Attempts], T]
    json: object = None
    params: dict[str, str] | None = None
    idempotent: bool = False
    # Statuses that mean success when an earlier attempt may have done the work (DELETE then 404).
    done_after_retry: frozenset[int] = frozenset()


class Attempts:
    """The attempts of one call. ``after_error`` and ``after_response`` say how long to wait before the next
    one, or raise / return None when there is no next one."""

    def __init__(self, policy: RetryPolicy, *, idempotent: bool, request_id: str) -> None:
        self.policy = policy
        self.idempotent = idempotent
        self.request_id = request_id
        self.number = 1
        # Whether an earlier attempt may have reached the server and been acted on.
        self.maybe_done = False
        self.retry_after: float | None = None

    def _next(self) -> float | None:
        if self.number > self.policy.max_retries:
            return None
        delay = self.policy.backoff(self.number)
        self.number += 1
        return delay

    def after_error(self, exc: httpx.TransportError) -> float:
        """The wait before trying again after no answer came, or the ``ConnectionFailed`` to raise."""
        not_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        delay = self._next() if not_sent or self.idempotent else None
        if not not_sent:
            self.maybe_done = True
        if delay is not None:
            return delay
        kind = TimedOut if isinstance(exc, httpx.TimeoutException) else ConnectionFailed
        detail = str(exc) or type(exc).__name__
        raise kind(f"No answer from the server: {detail}", request_id=self.request_id, cause=exc) from exc

    def after_response(self, response: httpx.Response) -> float | None:
        """The wait before trying again after this answer, or None when it is the final one."""
        status = response.status_code
        if status == 429:
            self.retry_after = parse_retry_after(response.headers.get("retry-after"))
            if self.retry_after is not None and self.retry_after > self.policy.max_retry_after:
                return None
            delay = self._next()
            if delay is None:
                return None
            return max(delay, self.retry_after or 0.0)
        if status >= 500 and self.idempotent:
            delay = self._next()
            if delay is not None:
                self.maybe_done = True
            return delay
        return None

    def result(self, call: Call[T], response: httpx.Response) -> T:
        """The final answer read by ``call.parse``, or its error raised."""
        if response.is_success or (self.maybe_done and response.status_code in call.done_after_retry):
            return call.parse(response, self)
        raise error_from_response(response, retry_after=self.retry_after)
