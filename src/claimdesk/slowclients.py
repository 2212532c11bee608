"""Deadlines for slow clients, so that one sending a byte a second neither holds a connection for ever nor
keeps anyone else waiting (the server is asynchronous: other requests are answered meanwhile).

uvicorn closes idle kept-alive connections (``timeout_keep_alive``) but has no deadline for a request that is
still arriving: a client that trickles its headers, or a body nobody reads, keeps its connection open as long
as it likes. Two pieces close that:

- ``guarded_protocol``: uvicorn's httptools protocol with a deadline for the request line and headers
  (``408`` and the connection closed), and one for the rest of a body after the app has answered without
  reading it (the connection closed). ``claimdesk serve`` runs with it.
- ``BodyDeadline``: ASGI middleware (in every app) under which reading a body that does not arrive within
  the deadline raises ``RequestTimeout``: the contract's error shape with ``408`` and ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .exceptions import RequestTimeout

log = logging.getLogger("claimdesk.slowclients")

_HEAD_TIMEOUT = json.dumps({"error": "The request's headers arrived too slowly; nothing was done."}).encode()
_HEAD_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_HEAD_TIMEOUT)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _HEAD_TIMEOUT
)


def guarded_protocol(head_seconds: float, body_seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol with the two deadlines (seconds)."""

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None
        _body_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head()  # a connection that never sends a byte is cut off too

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_head()  # the next request on a kept-alive connection: from its first byte

        def on_headers_complete(self) -> None:
            self._stop_head()
            super().on_headers_complete()
            self._stop_body()
            self._body_timer = self.loop.call_later(body_seconds, self._body_expired)

        def on_message_complete(self) -> None:
            self._stop_body()
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head()
            self._stop_body()
            super().connection_lost(exc)

        def _stop_head(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _stop_body(self) -> None:
            if self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None

        def _arm_head(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(head_seconds, self._head_expired)

        def _head_expired(self) -> None:
            self._head_timer = None
            if self.transport.is_closing():
                return
            log.info("%s: cut off, its request's headers took over %g s", _peer(self.client), head_seconds)
            self.transport.write(_HEAD_RESPONSE)
            self.transport.close()

        def _body_expired(self) -> None:
            self._body_timer = None
            # While the app runs, BodyDeadline answers 408 if it is waiting for the body; once it has
            # answered, nobody reads what still trickles in.
            if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
                return
            log.info("%s: cut off, its request's body took over %g s", _peer(self.client), body_seconds)
            self.transport.close()

    return GuardedHttpToolsProtocol


def _peer(client: Any) -> str:
    return f"{client[0]}:{client[1]}" if client else "a client"


class BodyDeadline:
    """Reading a request's body fails with ``RequestTimeout`` once ``seconds`` have passed since the request
    began (its headers were read); after the body's last part, receiving (a disconnect) is left alone."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        complete = False

        async def receive_in_time() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise RequestTimeout() from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, receive_in_time, send)
