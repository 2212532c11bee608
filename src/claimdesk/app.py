"""create_app(): routers, error handlers, and the middleware that puts rate-limit headers on answers."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import __version__
from .api.deps import KeyCache, Services
from .api.docs import CODES_DOC, allowed_methods, exact_request_bodies, operation_id, without_framework_errors
from .api.ratelimit import Quota, RateLimiter
from .api.requestid import RequestId, current_request_id, install_log_records
from .config import Settings, get_settings
from .db import Database
from .exceptions import ClaimdeskError
from .rules.codes import Code
from .rules.problems import Problem, dotted
from .slowclients import BodyDeadline
from .unavailable import DATABASE_ERRORS, first_line, unavailable_for
from .web.errors import is_web_path
from .web.install import html_error, install_web

log = logging.getLogger("claimdesk")

DESCRIPTION = f"""Complaints (tickets) about order lines, filed by resellers through an API.

Authenticate with `Authorization: Bearer <api_key>`. Every error is JSON:
`{{"error": "...", "errors": [{{"loc": "products.0.files", "code": "files_required", "message": "..."}}]}}`.

{CODES_DOC}
"""


class QuotaHeaders:
    """Copies the caller's quota, set while authenticating, onto every answer (errors included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                quota: Quota | None = scope.get("state", {}).get("quota")
                if quota is not None:
                    message["headers"] = list(message.get("headers", [])) + quota.headers()
            await send(message)

        await self.app(scope, receive, send_with_quota)


def _error(exc: ClaimdeskError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)


async def _params_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if (page := await html_error(request, 400, "The address or the form has a mistake.", {})) is not None:
        return page
    problems = []
    for item in exc.errors():
        loc = [part for part in item["loc"] if part not in ("query", "path", "body", "header")]
        problems.append(Problem(dotted(loc) or "body", Code.INVALID_TYPE, str(item["msg"])))
    message = problems[0].message if len(problems) == 1 else "The request has mistakes; each is listed in errors."
    return JSONResponse({"error": message, "errors": [p.as_dict() for p in problems]}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if (
        page := await html_error(request, exc.status_code, None, dict(getattr(exc, "headers", None) or {}))
    ) is not None:
        return page
    messages = {404: "Not found.", 405: "Method not allowed."}
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        allowed = allowed_methods(request.app.openapi(), request.url.path)
        if allowed:  # every method at the path, not only those of the first route that matched it
            headers["Allow"] = ", ".join(allowed)
    return JSONResponse(
        {"error": messages.get(exc.status_code, str(exc.detail))}, status_code=exc.status_code, headers=headers
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    # Starlette answers this one outside the middleware, so the request id is added here.
    headers = {"x-request-id": current_request_id()}
    if (page := await html_error(request, 500, None, {})) is not None:
        page.headers.update(headers)
        return page
    return JSONResponse(
        {"error": "Something went wrong on our side; nothing was changed."}, status_code=500, headers=headers
    )


def create_app(settings: Settings | None = None, *, database: Database | None = None, worker: bool = False) -> FastAPI:
    settings = settings or get_settings()
    settings.check_production()  # production without its secrets: refused before anything is opened
    db = database or Database(settings.database_url, echo=settings.sql_echo, pool_size=settings.database_pool_size)
    services = Services(
        settings=settings,
        db=db,
        limiter=RateLimiter(settings.rate_limit, settings.rate_limit_storage),
        keys=KeyCache(settings.api_key_recheck_seconds),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything loaded so far (the app, its schemas, the libraries) lives as long as the process:
        # move it out of the collector's sight. Full collections over it took a tenth of the time under
        # load, and their pauses were the slowest answers.
        gc.collect()
        gc.freeze()
        # And collect the young generation every 20,000 allocations instead of 700: a request allocates
        # thousands of short-lived objects, nearly all freed by reference counting; the default cadence
        # spent 3% of the time finding no cycles.
        gc.set_threshold(20_000, 10, 10)
        background = None
        if worker:
            from .worker import EmbeddedWorker

            background = EmbeddedWorker(db, settings)
            background.start()
        try:
            yield
        finally:
            if background is not None:
                background.stop()
            if database is None:
                db.dispose()

    app = FastAPI(
        title="claimdesk",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # /docs and /redoc are served by the web UI from vendored files (web/install.py), never from a CDN.
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        # A path that names no route is a 404, not a redirect elsewhere: /tickets/%2F (a ticket id "/") would
        # otherwise be sent to the list of tickets.
        redirect_slashes=False,
    )
    app.state.services = services
    framework_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = exact_request_bodies(without_framework_errors(framework_openapi()), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to adjust the document

    async def claimdesk_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ClaimdeskError)
        if is_web_path(request.url.path):  # the web pages answer with a page (or a redirect), never JSON
            page = await html_error(
                request, exc.status_code, exc.message, exc.headers, title=getattr(exc, "page_title", None)
            )
            if page is not None:
                return page
        return _error(exc)

    async def database_error(request: Request, exc: Exception) -> Response:
        """The database out of reach (stopped, cut off, full): a 503 with Retry-After; else a fault of ours."""
        unavailable = unavailable_for(exc)
        if unavailable is None:
            return await _unexpected(request, exc)
        log.warning("the database is unavailable, answered 503: %s", first_line(exc))
        return await claimdesk_error(request, unavailable)

    app.add_exception_handler(ClaimdeskError, claimdesk_error)
    for database_error_type in DATABASE_ERRORS:
        app.add_exception_handler(database_error_type, database_error)
    app.add_exception_handler(RequestValidationError, _params_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(QuotaHeaders)
    # A body that does not arrive in time: 408 from the route reading it (the handlers above answer it).
    app.add_middleware(BodyDeadline, seconds=settings.request_body_timeout_seconds)

    # Outermost: every answer carries x-request-id, and every log line written meanwhile has it.
    install_log_records()
    app.add_middleware(RequestId)

    from .accounts.endpoints import router as account_router
    from .events.endpoints import router as events_router
    from .files.endpoints import router as files_router
    from .orders.endpoints import catalogue_router
    from .orders.endpoints import router as orders_router
    from .staff.endpoints import router as staff_router
    from .tickets.endpoints import add_intake_route
    from .tickets.endpoints import router as tickets_router
    from .webhooks.endpoints import router as webhooks_router

    # Routes are matched in this order, and no two routers share a path: the busiest come first, and
    # POST /tickets before all of them, on the app itself.
    for router in (
        tickets_router,
        orders_router,
        files_router,
        account_router,
        catalogue_router,
        events_router,
        staff_router,
        webhooks_router,
    ):
        app.include_router(router)
    add_intake_route(app)

    # --- Web UI (sign-in, console, portal, /docs): its state, static files, security headers and pages.
    install_web(app, settings, db)
    # The pages' routers are put together here, beside the API's: the web package is their foundation
    # and imports none of them.
    from .console.views import router as console_router
    from .portal.report import router as portal_report_router
    from .portal.views import router as portal_router
    from .web.views import router as sign_in_router

    for router in (sign_in_router, console_router, portal_router, portal_report_router):
        app.include_router(router)
    # --- end of web UI
    return app
