"""Reading JSON bodies: 415 for anything but JSON, 413 past the size cap, 400 when it does not parse or is
nested deeper than ``MAX_DEPTH``.

The body is read as the standard library reads it (``jsonfmt.parse_json``), which keeps lone surrogates
(``"\\ud800"``) so that validation can name them ``invalid_text`` at their field instead of refusing the whole
body.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from claimdesk.exceptions import BadRequest, PayloadTooLarge, UnsupportedMediaType
from claimdesk.jsonfmt import parse_json

# The deepest body the contract has is a ticket's: object, products, line, files, file (5 levels). A body
# nested deeper than this is refused whole, before validation, so no part of the service (validation,
# error reports, logging) ever walks a structure thousands of levels deep.
MAX_DEPTH = 32


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` has more than ``limit`` arrays and objects nested in one another (a loop, no
    recursion: the value may be as deep as the parser allowed)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                if depth == limit:
                    return True
                pending.append((child, depth + 1))
    return False


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


async def read_json(request: Request, max_bytes: int) -> Any:
    content_type = request.headers.get("content-type", "")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise PayloadTooLarge(f"The body is larger than {max_bytes} bytes.")
    if not _is_json(content_type):
        raise UnsupportedMediaType("The body must be JSON (Content-Type: application/json).")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"The body is larger than {max_bytes} bytes.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise BadRequest("The body is empty; a JSON object was expected.")
    try:
        value = parse_json(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadRequest(f"The body is not valid JSON: {exc}") from None
    # A body with no more brackets than the limit cannot be nested deeper (brackets in strings only add to
    # the count): two passes in C, so the walk is left for the rare body that has that many.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and isinstance(value, dict | list) and too_deep(value):
        raise BadRequest(f"The body is nested deeper than {MAX_DEPTH} levels of arrays and objects.")
    return value
