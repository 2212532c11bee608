"""Puts the web UI into the app: state, static files, security headers, the API docs, the pages' routers,
and the HTML error pages that the app's error handlers answer with on web paths."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from claimdesk.config import Settings
from claimdesk.db import Database

from .errors import Redirect, wants_html
from .render import STATIC, build_templates, render, static_url
from .security import COMMON, PAGE_POLICY, SecurityHeaders, docs_policy
from .state import WebState
from .throttle import PageLimit, SignInThrottle

log = logging.getLogger("claimdesk.web")

TITLES = {
    400: "The request could not be read",
    403: "You cannot open this page",
    404: "Page not found",
    405: "Not possible here",
    429: "Too many attempts",  # sign-in; page views have their own title (PagesTooFast)
    500: "Something went wrong",
}
HINTS = {
    404: "The address may be mistyped, or what it pointed to is gone or belongs to someone else.",
    500: "It was our fault, not yours, and nothing was changed. Please try again in a moment.",
}


async def error_page(request: Request, status: int, message: str | None = None, title: str | None = None) -> Response:
    """An error in the app's style. ``message`` is our own sentence (never a client's text unescaped)."""
    from .deps import current_identity

    try:
        await current_identity(request)
    except Exception:  # the error page must render even when the database is what failed
        request.state.identity = None
    context = {
        "status": status,
        "title": title or TITLES.get(status, "Something is not right"),
        "message": message or HINTS.get(status, ""),
    }
    response = render(request, "web/error.html", context, status=status)
    # A 500 page is sent by Starlette's outermost middleware, past SecurityHeaders, and a browser's 404 on
    # a path of no area is not wrapped by it: every error page carries the headers itself.
    response.headers["content-security-policy"] = PAGE_POLICY
    for name, value in COMMON:
        response.headers[name.decode()] = value.decode()
    return response


async def html_error(
    request: Request, status: int, message: str | None, headers: dict[str, str], *, title: str | None = None
) -> Response | None:
    """The answer for an error on a web path (a page, or a redirect); None where the API's JSON applies."""
    if not wants_html(request):
        return None
    if status == 303:
        location = headers.get("Location", "/login")
        if request.headers.get("hx-request"):
            # An HTMX request would follow the redirect and swap the login page into a fragment.
            return Response(status_code=204, headers={"HX-Redirect": location})
        return RedirectResponse(location, status_code=303)
    response = await error_page(request, status, message, title)
    for name, value in headers.items():
        if name.lower() != "location":
            response.headers[name] = value
    return response


def install_web(app: FastAPI, settings: Settings, db: Database) -> None:
    app.state.web = WebState(
        settings=settings,
        db=db,
        templates=build_templates(),
        throttle=SignInThrottle(
            settings.signin_limit_per_email, settings.signin_limit_per_address, settings.rate_limit_storage
        ),
        pages=PageLimit(
            settings.web_rate_limit_per_session, settings.web_rate_limit_per_address, settings.rate_limit_storage
        ),
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    swagger = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="claimdesk API",
        swagger_js_url=static_url("vendor/swagger-ui/swagger-ui-bundle.js"),
        swagger_css_url=static_url("vendor/swagger-ui/swagger-ui.css"),
        swagger_favicon_url=static_url("favicon.svg"),
    ).body
    redoc = get_redoc_html(
        openapi_url="/openapi.json",
        title="claimdesk API",
        redoc_js_url=static_url("vendor/redoc/redoc.standalone.js"),
        redoc_favicon_url=static_url("favicon.svg"),
        with_google_fonts=False,
    ).body
    assert isinstance(swagger, bytes)
    assert isinstance(redoc, bytes)
    inline = re.findall(r"<script>(.*?)</script>", swagger.decode(), flags=re.DOTALL)
    app.add_middleware(SecurityHeaders, docs_csp=docs_policy(inline))

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger)

    @app.get("/redoc", include_in_schema=False)
    async def redoc_page() -> HTMLResponse:
        return HTMLResponse(redoc)


__all__ = ["Redirect", "error_page", "html_error", "install_web"]
