"""Dependencies of the web pages: who is signed in, the area guards, the page rate limit, and CSRF on every
unsafe method.

Views declare ``identity: StaffPage`` or ``identity: ResellerPage``; routers made by ``web_router()`` count
every page view against the limits and check the CSRF token of every POST, PUT, PATCH and DELETE before the
view runs.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from claimdesk.exceptions import BadRequest, ClaimdeskError
from claimdesk.models import utcnow

from .errors import CsrfFailed, LoginRequired, PagesTooFast, Redirect, WrongArea
from .render import PRELOGIN_COOKIE, SESSION_COOKIE
from .sessions import TOUCH_EVERY, Identity, load_identity, touch_session
from .state import web_state

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"  # HTMX requests send it (base.html sets hx-headers)


async def current_identity(request: Request) -> Identity | None:
    """The signed-in person, or None. Loaded once per request (``request.state.identity``)."""
    if hasattr(request.state, "identity"):
        cached: Identity | None = request.state.identity
        return cached
    identity = None
    token = request.cookies.get(SESSION_COOKIE)
    if token and len(token) <= 100:
        web = web_state(request)
        idle = web.settings.web_session_idle_minutes
        identity = await run_in_threadpool(web.db.read, load_identity, token, idle_minutes=idle)
        if identity is not None and identity.last_seen_at < utcnow() - TOUCH_EVERY:
            await run_in_threadpool(web.db.write, touch_session, identity.session_id)
    request.state.identity = identity
    return identity


def _next_url(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def require_staff(request: Request) -> Identity:
    """A staff member, or a redirect to sign in; a reseller user gets 403."""
    identity = await current_identity(request)
    if identity is None:
        raise LoginRequired(_next_url(request))
    if not identity.is_staff:
        raise WrongArea()
    return identity


async def require_reseller_user(request: Request) -> Identity:
    """A reseller account's user, or a redirect to sign in; staff are sent to the console."""
    identity = await current_identity(request)
    if identity is None:
        raise LoginRequired(_next_url(request))
    if identity.is_staff:
        raise Redirect("/console")
    return identity


StaffPage = Annotated[Identity, Depends(require_staff)]
ResellerPage = Annotated[Identity, Depends(require_reseller_user)]
MaybeSignedIn = Annotated[Identity | None, Depends(current_identity)]


async def check_page_rate(request: Request) -> None:
    """Count the page view against its session's and its address's limits; 429 past either."""
    identity = await current_identity(request)
    address = request.client.host if request.client else "unknown"
    blocked = web_state(request).pages.hit(identity.session_id if identity is not None else None, address)
    if blocked is not None:
        raise PagesTooFast(blocked.retry_after)


def _check_origin(request: Request) -> None:
    """Refuse what a browser says came from another site. Compared by host only: behind a TLS proxy the
    app sees http while the browser's Origin says https."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise CsrfFailed()
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise CsrfFailed()


async def check_csrf(request: Request) -> None:
    """On unsafe methods: same-site headers and the form's (or header's) token against the session's."""
    if request.method in SAFE_METHODS:
        return
    _check_origin(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        try:
            form = await request.form()
        except ClaimdeskError:  # the body too slow (408) is no malformed form
            raise
        except Exception as exc:  # a malformed multipart body: python-multipart raises several kinds
            raise BadRequest("The form could not be read.") from exc
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    identity = await current_identity(request)
    if identity is None and request.url.path == "/logout":
        return  # signing out a session that has already ended changes nothing
    expected = [identity.csrf_token] if identity is not None else []
    if request.url.path == "/login" and (prelogin := request.cookies.get(PRELOGIN_COOKIE)):
        expected.append(prelogin)
    if not sent or not any(hmac.compare_digest(sent.encode(), token.encode()) for token in expected):
        raise CsrfFailed()


def web_router(**kwargs: Any) -> APIRouter:
    """A router for web pages: out of the OpenAPI document, HTML answers, CSRF checked on unsafe methods."""
    return APIRouter(
        include_in_schema=False,
        default_response_class=HTMLResponse,
        dependencies=[Depends(check_page_rate), Depends(check_csrf), *kwargs.pop("dependencies", [])],
        **kwargs,
    )
