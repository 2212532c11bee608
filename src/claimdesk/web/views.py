"""Sign-in and sign-out: the one /login page for staff and reseller users."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from .deps import MaybeSignedIn, web_router
from .render import SESSION_COOKIE, flash, render, set_cookie
from .sessions import Identity, Person, UserKind, check_credentials, end_session, start_session
from .state import WebState, web_state

router = web_router(tags=["web"])

WRONG_CREDENTIALS = "The e-mail address or password is not right. Check them and try again."
# Where each kind of person may be sent back to after signing in.
AREAS = {UserKind.STAFF: ("/console", "/docs", "/redoc"), UserKind.USER: ("/portal",)}


def local_next(value: object) -> str | None:
    """``value`` when it is a path on this site (never another host, scheme or a protocol-relative URL)."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 2000:
        return None
    if value.startswith(("//", "/\\")) or any(c in value for c in "\\\r\n\t\x00"):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def landing(kind: UserKind, next_url: str | None) -> str:
    home = "/console" if kind is UserKind.STAFF else "/portal"
    if next_url is None:
        return home
    path = urlsplit(next_url).path
    if any(path == area or path.startswith(area + "/") for area in AREAS[kind]):
        return next_url
    return home


@dataclass(frozen=True)
class Attempt:
    person: Person | None
    token: str | None
    blocked_for: int | None = None


def _attempt(web: WebState, email: str, password: str, address: str, old_token: str | None) -> Attempt:
    """Throttle, check the password (reading only) and, when right, start the session (one write)."""
    blocked = web.throttle.blocked(email, address)
    if blocked is not None:
        return Attempt(None, None, blocked.retry_after)
    person = web.db.read(check_credentials, email, password)
    if person is None:
        web.throttle.failed(email, address)
        return Attempt(None, None)
    web.throttle.succeeded(email)
    token = web.db.write(start_session, person, hours=web.settings.web_session_hours, replaces=old_token)
    return Attempt(person, token)


def _login_page(
    request: Request, *, email: str = "", next_url: str | None, errors: list[dict[str, str]] | None = None,
    message: str | None = None, message_kind: str = "error", status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    context = {
        "email": email, "next_url": next_url or "", "errors": errors or [], "message": message,
        "message_kind": message_kind,
    }  # fmt: skip
    return render(request, "web/login.html", context, status=status, headers=headers)


@router.get("/")
async def root(identity: MaybeSignedIn) -> Response:
    return RedirectResponse(identity.home if identity is not None else "/login", status_code=303)


@router.get("/login")
async def login_form(request: Request, identity: MaybeSignedIn, next: str | None = None) -> Response:
    next_url = local_next(next)
    if identity is not None:
        return RedirectResponse(landing(identity.kind, next_url), status_code=303)
    return _login_page(request, next_url=next_url)


@router.post("/login")
async def login_submit(request: Request) -> Response:
    form = await request.form()
    email = form.get("email")
    password = form.get("password")
    email = email if isinstance(email, str) else ""
    password = password if isinstance(password, str) else ""
    next_url = local_next(form.get("next"))
    errors = []
    if not email.strip():
        errors.append({"field": "email", "message": "Enter your e-mail address."})
    if not password:
        errors.append({"field": "password", "message": "Enter your password."})
    if errors:
        return _login_page(request, email=email, next_url=next_url, errors=errors, status=422)

    web = web_state(request)
    address = request.client.host if request.client else "unknown"
    attempt = await run_in_threadpool(
        _attempt, web, email, password[:1024], address, request.cookies.get(SESSION_COOKIE)
    )
    if attempt.blocked_for is not None:
        minutes = max(1, -(-attempt.blocked_for // 60))
        message = (
            "Too many failed sign-ins for this e-mail address or from this network. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )
        headers = {"Retry-After": str(attempt.blocked_for)}
        return _login_page(
            request, email=email, next_url=next_url, message=message, message_kind="warning", status=429,
            headers=headers,
        )  # fmt: skip
    if attempt.person is None or attempt.token is None:
        return _login_page(request, email=email, next_url=next_url, message=WRONG_CREDENTIALS)
    response = RedirectResponse(landing(attempt.person.kind, next_url), status_code=303)
    max_age = int(web.settings.web_session_hours * 3600)
    set_cookie(request, response, SESSION_COOKIE, attempt.token, max_age=max_age)
    return response


@router.post("/logout")
async def logout(request: Request, identity: MaybeSignedIn) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    web = web_state(request)
    if token:
        await run_in_threadpool(web.db.write, end_session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    if identity is not None:
        flash(request, response, "You have signed out.", "success")
    return response


__all__ = ["Identity", "router"]
