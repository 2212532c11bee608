"""One error base for the whole service. A single handler in ``app.py`` maps it to HTTP.

Services raise these, never ``HTTPException``; the CLI prints them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .rules.problems import Problem


class ClaimdeskError(Exception):
    status_code = 400

    def __init__(
        self,
        message: str,
        *,
        problems: Sequence[Problem] = (),
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.problems:
            body["errors"] = [p.as_dict() for p in self.problems]
        body.update(self.extra)
        return body


class BadRequest(ClaimdeskError):
    """The body could not be parsed."""

    status_code = 400


class Unauthenticated(ClaimdeskError):
    """No API key, or one we do not know."""

    status_code = 401

    def __init__(self, message: str = "A valid API key is required (Authorization: Bearer <api_key>).") -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="claimdesk"'})


class Forbidden(ClaimdeskError):
    """The key is valid but may not do this."""

    status_code = 403


class NotFound(ClaimdeskError):
    """Nothing there, or it belongs to another account (which must look the same)."""

    status_code = 404


class Conflict(ClaimdeskError):
    """The request clashes with what is stored."""

    status_code = 409


class RequestTimeout(ClaimdeskError):
    """The request's body did not arrive within ``request_body_timeout_seconds``; the connection is closed."""

    status_code = 408

    def __init__(self) -> None:
        super().__init__(
            "The request's body arrived too slowly; nothing was done. Send it again.", headers={"Connection": "close"}
        )


class PayloadTooLarge(ClaimdeskError):
    status_code = 413


class UnsupportedMediaType(ClaimdeskError):
    status_code = 415


class ValidationFailed(ClaimdeskError):
    """One or more fields are wrong; ``problems`` lists every one of them."""

    status_code = 422

    def __init__(self, problems: Sequence[Problem], message: str | None = None) -> None:
        if message is None:
            count = len(problems)
            message = (
                problems[0].message if count == 1 else f"The request has {count} mistakes; each is listed in errors."
            )
        super().__init__(message, problems=problems)


class RateLimited(ClaimdeskError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("Quota has been exceeded", headers={"Retry-After": str(max(1, retry_after))})
