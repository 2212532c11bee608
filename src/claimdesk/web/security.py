"""Security headers on every web page, and the Content-Security-Policy.

Pages carry no inline script and no inline style (``static/app.js`` and ``static/app.css`` only), so the
policy allows nothing but the app's own files. Swagger UI and ReDoc (``/docs``, ``/redoc``) get a looser
policy of their own, see ``docs_policy``.
"""

from __future__ import annotations

import base64
import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import is_web_path

PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def script_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def docs_policy(inline_scripts: list[str]) -> str:
    """Swagger UI starts from one inline script (FastAPI's page), allowed by its hash and nothing else.
    Both Swagger UI (React) and ReDoc (styled-components) set styles at run time, as style attributes and
    injected <style> elements, which a policy can only allow with 'unsafe-inline' for styles; ReDoc runs its
    search index in a worker made from a blob: URL. Scripts stay limited to the app's own files."""
    hashes = " ".join(script_hash(s) for s in inline_scripts)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {hashes}".strip(),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]
DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    """Adds the headers to HTML answers and to the web paths' other answers (static files, redirects).
    The JSON API's answers pass through untouched."""

    def __init__(self, app: ASGIApp, docs_csp: str) -> None:
        self.app = app
        self.docs_csp = docs_csp.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        web = is_web_path(path) or path in DOCS_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                is_html = any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                if web or is_html:
                    policy = self.docs_csp if path in DOCS_PATHS else PAGE_POLICY.encode()
                    names = {k for k, _ in headers}
                    headers += [(k, v) for k, v in COMMON if k not in names]
                    if is_html and b"content-security-policy" not in names:
                        headers.append((b"content-security-policy", policy))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
