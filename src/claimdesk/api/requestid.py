"""``x-request-id`` on every answer, and in every log line written while the request runs.

The caller's own id is kept when it is sane (1 to 128 visible ASCII characters: it is echoed in a header
and written to logs, so no spaces, control characters or anything longer); otherwise a new one is made.
Pure ASGI, no ``BaseHTTPMiddleware``: it runs on every request, POST /tickets included, and costs a header
lookup, a context variable and one appended header.

Log records get a ``request_id`` attribute (``-`` outside a request) through the record factory, so any
format can show it: ``%(request_id)s``.
"""

from __future__ import annotations

import logging
import os
import re
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
_SANE = re.compile(rb"[\x21-\x7e]{1,128}")

_current: ContextVar[str] = ContextVar("claimdesk_request_id", default="-")


def current_request_id() -> str:
    """The id of the request being answered in this context, ``-`` outside one."""
    return _current.get()


def new_request_id() -> str:
    return os.urandom(16).hex()


def _incoming(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("ascii") if _SANE.fullmatch(value) else None
    return None


class RequestId:
    """Reads or makes the request's id, puts it on the answer and in the context for log lines.

    The context variable is set and deliberately not reset: uvicorn runs each request in a task of its
    own, so the id cannot leak into another request, and the lines written after the app has returned
    (uvicorn's access line, the traceback of an unexpected error) still carry it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming(scope) or new_request_id()
        _current.set(request_id)
        header = (HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


def install_log_records() -> None:
    """Give every log record a ``request_id`` attribute (once per process, however many apps are made)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "claimdesk_request_id", False):
        return

    def record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = _current.get()
        return record

    record_with_request_id.claimdesk_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record_with_request_id)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with the request id in its access and error lines."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {
        **LOGGING_CONFIG,
        "formatters": {name: dict(spec) for name, spec in LOGGING_CONFIG["formatters"].items()},
    }
    config["formatters"]["default"]["fmt"] = "%(levelprefix)s [%(request_id)s] %(message)s"
    config["formatters"]["access"]["fmt"] = (
        '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s [%(request_id)s]'
    )
    return config
