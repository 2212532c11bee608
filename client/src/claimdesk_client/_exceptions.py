"""One exception tree for everything the client raises.

::

    ClaimdeskError
    ├── APIError                  the server answered with an error (``status`` is set)
    │   ├── BadRequest            400, 405, 413, 415 and other 4xx without a class of their own
    │   ├── ValidationFailed      422 (``errors``: every mistake, each with loc, code, message)
    │   ├── Conflict              409 (``ticket``: the ticket it names, where it names one)
    │   ├── NotFound              404
    │   ├── AuthenticationFailed  401
    │   ├── PermissionDenied      403
    │   ├── RateLimited           429 (``retry_after`` in seconds)
    │   └── ServerError           5xx
    └── ConnectionFailed          no answer at all (``status`` is None)
        └── TimedOut              no answer within the timeout
"""

from __future__ import annotations

from typing import Any

import httpx

from ._models import ConflictingTicket, FieldError


class ClaimdeskError(Exception):
    """Base of every error the client raises.

    ``message`` is the server's one human sentence (or what went wrong on the way), ``status`` the HTTP
    status (None when no answer came) and ``request_id`` the answer's ``x-request-id`` (or the id the
    client sent, when no answer came): quote it to the supplier's support.
    """

    def __init__(self, message: str, *, status: int | None = None, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status {self.status}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return parts[0] if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"


class APIError(ClaimdeskError):
    """The server answered with an error status; ``body`` is its JSON (``{"error", "errors"?, ...}``)."""

    status: int

    def __init__(
        self,
        message: str,
        *,
        status: int,
        request_id: str | None = None,
        body: dict[str, Any] | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(message, status=status, request_id=request_id)
        self.body = body or {}
        self.errors = errors or []

    @property
    def codes(self) -> list[str]:
        """The ``code`` of each field error, in the server's order."""
        return [e.code for e in self.errors]


class BadRequest(APIError):
    """A 4xx without a class of its own: an unparsable or oversized body (400, 413), not JSON (415)."""


class ValidationFailed(APIError):
    """422: the request has mistakes. ``errors`` lists every one of them (``loc``, ``code``, ``message``)."""


class Conflict(APIError):
    """409: the request clashes with what is stored.

    ``ticket`` is the ticket the server names (``id``, ``number``, ``status``): the unsolved ticket that
    already holds a product for this reason (code ``ticket_exists``), or the ticket whose id was used with a
    different body. None where the conflict names no ticket (a move not allowed, an order id taken).
    """

    def __init__(self, message: str, *, ticket: ConflictingTicket | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.ticket = ticket


class NotFound(APIError):
    """404: nothing there. Another account's ticket or order answers the same, by design."""


class AuthenticationFailed(APIError):
    """401: no API key, or one the server does not know."""


class PermissionDenied(APIError):
    """403: the key is valid but may not do this (a reseller key on a staff endpoint)."""


class RateLimited(APIError):
    """429: the key's quota is used up. ``retry_after`` is how many seconds to wait (from ``Retry-After``).

    Raised only once the client's own retries are used up (see ``RetryPolicy``).
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the server failed. Raised once the client's retries are used up; safe calls were retried."""


class ConnectionFailed(ClaimdeskError):
    """No answer: the server could not be reached, or the connection broke. ``status`` is None."""

    def __init__(self, message: str, *, request_id: str | None = None, cause: httpx.TransportError | None = None):
        super().__init__(message, status=None, request_id=request_id)
        self.cause = cause


class TimedOut(ConnectionFailed):
    """No answer within the timeout (connecting, sending or reading)."""


_BY_STATUS: dict[int, type[APIError]] = {
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
}


def error_from_response(response: httpx.Response, *, retry_after: float | None = None) -> APIError:
    """The exception for an error answer, with everything the body and headers say."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"error": response.text[:200] or response.reason_phrase}
    message = str(body.get("error") or response.reason_phrase or f"HTTP {response.status_code}")
    errors = [FieldError.model_validate(e) for e in body.get("errors") or [] if isinstance(e, dict)]
    common: dict[str, Any] = {
        "status": response.status_code,
        "request_id": response.headers.get("x-request-id"),
        "body": body,
        "errors": errors,
    }
    status = response.status_code
    if status >= 500:
        return ServerError(message, **common)
    cls = _BY_STATUS.get(status, BadRequest)
    if cls is Conflict:
        named = body.get("ticket")
        ticket = ConflictingTicket.model_validate(named) if isinstance(named, dict) else None
        return Conflict(message, ticket=ticket, **common)
    if cls is RateLimited:
        return RateLimited(message, retry_after=retry_after, **common)
    return cls(message, **common)
