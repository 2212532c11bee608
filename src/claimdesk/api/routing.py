"""Routing for the hot path: POST /tickets is matched first and its handler is the endpoint itself.

Measured under load on FastAPI 0.165, two parts of the framework cost more per ticket than a quarter of
the rest of intake:

- Since FastAPI 0.137, ``include_router`` keeps each router as a lazy node that is walked on every request
  (about 90 µs per request here). A route added on the app itself is matched directly.
- An APIRoute's handler resolves the endpoint's parameters and serializes its result (about 100 µs). An
  endpoint that takes the Request and returns a Response of its own needs neither.

Everything else (middleware, exception handlers, the route's OpenAPI entry) is FastAPI's as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class RequestRoute(APIRoute):
    """An APIRoute for an ``async def endpoint(request: Request) -> Response``, called as it is."""

    def get_route_handler(self) -> Endpoint:
        endpoint: Endpoint = self.endpoint
        return endpoint


def add_request_route(app: FastAPI, path: str, endpoint: Endpoint, **declaration: Any) -> None:
    """Put ``endpoint`` on the app itself, ahead of its included routers."""
    app.router.add_api_route(path, endpoint, route_class_override=RequestRoute, **declaration)
    routes = app.router.routes
    routes.insert(0, routes.pop())
