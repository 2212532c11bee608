"""What the web pages raise, and the rule that decides whether an error is answered as a page or as JSON.

API routes keep the contract's JSON errors. A web route (``WEB_PREFIXES``), or a browser asking for HTML on a
path that is no API path, gets an error page in the app's style instead.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request

from claimdesk.exceptions import ClaimdeskError, Forbidden

WEB_PREFIXES = ("/login", "/logout", "/console", "/portal", "/static/")
# The API's own paths: never an HTML answer there, whatever the Accept header says.
API_PREFIXES = (
    "/tickets",
    "/order",
    "/staff",
    "/files",
    "/events",
    "/webhooks",
    "/account",
    "/reasons",
    "/solutions",
    "/openapi.json",
)


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def is_web_path(path: str) -> bool:
    return path == "/" or _under(path, WEB_PREFIXES)


def wants_html(request: Request) -> bool:
    path = request.url.path
    if is_web_path(path):
        return True
    if _under(path, API_PREFIXES):
        return False
    # Browsers put text/html first in Accept on navigation; API clients send */* or application/json.
    return request.headers.get("accept", "").lstrip().startswith("text/html")


class CsrfFailed(Forbidden):
    """A form posted without its token, with another session's token, or from another site."""

    page_title = "This form could not be accepted"

    def __init__(self) -> None:
        super().__init__(
            "This form could not be accepted: it has expired or came from another site. Nothing was changed. "
            "Reload the page and try again."
        )


class WrongArea(Forbidden):
    """A signed-in person on a page that is not for their kind (a reseller user on the console)."""

    def __init__(self) -> None:
        super().__init__("This page is not available to your sign-in.")


class Redirect(ClaimdeskError):
    """Send the browser elsewhere (303 See Other), e.g. staff who open the portal go to the console."""

    status_code = 303

    def __init__(self, location: str, message: str = "See other.") -> None:
        super().__init__(message, headers={"Location": location})


class LoginRequired(Redirect):
    """Not signed in (or the session ended): to /login?next=<this page>."""

    def __init__(self, next_url: str) -> None:
        super().__init__("/login?next=" + quote(next_url, safe="/"), "Please sign in.")


class PagesTooFast(ClaimdeskError):
    """More pages asked for by one session or address than the web page limit allows (429)."""

    status_code = 429
    page_title = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        seconds = f"{retry_after} second{'s' if retry_after != 1 else ''}"
        super().__init__(
            f"Pages were asked for faster than we serve them to one person. Nothing is wrong with your "
            f"account: please wait {seconds} and try again.",
            headers={"Retry-After": str(retry_after)},
        )
