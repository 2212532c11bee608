"""Templates, the ``render`` helper every view returns through, and flash messages.

Autoescape is on for every template: whatever a client typed is shown as text.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from claimdesk import __version__
from claimdesk.rules.statuses import TicketStatus
from claimdesk.timefmt import parse_rfc3339, rfc3339

from .state import WebState, web_state

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"

SESSION_COOKIE = "claimdesk_session"
PRELOGIN_COOKIE = "claimdesk_csrf"  # the CSRF token of forms shown before sign-in (double submit)
FLASH_COOKIE = "claimdesk_flash"
FLASH_KINDS = ("info", "success", "warning", "error")


@functools.cache
def _static_version(path: str) -> str:
    try:
        return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:10]
    except OSError:
        return __version__


def static_url(path: str) -> str:
    """``/static/<path>`` with a content hash, so that browsers may cache files for long."""
    return f"/static/{path}?v={_static_version(path)}"


def _as_time(value: dt.datetime | str | None) -> dt.datetime | None:
    """Models hold datetimes, the API's views RFC 3339 strings: templates get either."""
    if isinstance(value, str):
        return parse_rfc3339(value)
    return value


def as_rfc3339(value: dt.datetime | str | None) -> str:
    value = _as_time(value)
    return rfc3339(value) if value is not None else ""


def exact_time(value: dt.datetime | str | None) -> str:
    """The exact time in UTC, for the ``title`` of a relative time (the page's script shows local time)."""
    value = _as_time(value)
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%-d %b %Y, %H:%M UTC")


def relative_time(value: dt.datetime | str | None, now: dt.datetime | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', '2 days ago': the text shown until the script refines it."""
    value = _as_time(value)
    if value is None:
        return ""
    seconds = int(((now or dt.datetime.now(dt.UTC)) - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        return "just now"
    for size, unit in ((86400 * 365, "y"), (86400 * 30, "mo"), (86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            count = seconds // size
            text = {"d": f"{count} day" + ("s" if count != 1 else "")}.get(unit, f"{count} {unit}")
            return f"in {text}" if future else f"{text} ago"
    return "just now"


def _status_label(status: str) -> str:
    try:
        return TicketStatus(status).value.capitalize()
    except ValueError:
        return status


def _status_explanation(status: str) -> str:
    try:
        return TicketStatus(status).explanation
    except ValueError:
        return ""


def build_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static_url=static_url, app_version=__version__)
    env.filters.update(
        rfc3339=as_rfc3339,
        exact_time=exact_time,
        relative_time=relative_time,
        status_label=_status_label,
        status_explanation=_status_explanation,
    )
    return env


def _read_flashes(request: Request) -> list[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        items = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    return [
        {"kind": i["kind"], "text": i["text"]}
        for i in items[:5]
        if isinstance(i, dict) and i.get("kind") in FLASH_KINDS and isinstance(i.get("text"), str)
    ]


def flash(request: Request, response: Response, text: str, kind: str = "info") -> Response:
    """Show ``text`` once, on the next page rendered (usually the one ``response`` redirects to)."""
    assert kind in FLASH_KINDS
    value = base64.urlsafe_b64encode(json.dumps([{"kind": kind, "text": text}]).encode()).decode().rstrip("=")
    set_cookie(request, response, FLASH_COOKIE, value, max_age=120)
    return response


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=web_state(request).settings.secure_cookies,
    )


def csrf_token(request: Request) -> str:
    """The token that this page's forms carry: the session's, or before sign-in the pre-login cookie's."""
    identity = getattr(request.state, "identity", None)
    if identity is not None:
        token: str = identity.csrf_token
        return token
    token = request.cookies.get(PRELOGIN_COOKIE) or getattr(request.state, "new_prelogin_csrf", None) or ""
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_prelogin_csrf = token
    return token


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``templates/<template>`` with ``context`` plus what every page needs (the signed-in person,
    the CSRF token, flash messages, the current path)."""
    web: WebState = web_state(request)
    flashes = _read_flashes(request)
    page = {
        "request": request,
        "identity": getattr(request.state, "identity", None),
        "csrf_token": csrf_token(request),
        "flashes": flashes,
        "current_path": request.url.path,
        "now": dt.datetime.now(dt.UTC),
        **(context or {}),
    }
    html = web.templates.get_template(template).render(page)
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    if flashes:
        response.delete_cookie(FLASH_COOKIE, path="/")
    new_token = getattr(request.state, "new_prelogin_csrf", None)
    if new_token:
        set_cookie(request, response, PRELOGIN_COOKIE, new_token)
    return response
