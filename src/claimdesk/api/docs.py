"""OpenAPI pieces: request bodies (the handlers read JSON themselves) and the documented errors."""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from claimdesk.api.answers import Error
from claimdesk.orders.schemas import OrderIn, OrderStatusIn
from claimdesk.rules.catalogue import Reason
from claimdesk.rules.codes import Code, codes_markdown
from claimdesk.rules.fields import LINE_PATTERN, MAX_INT, MAX_SEARCH
from claimdesk.rules.statuses import TicketStatus
from claimdesk.tickets.schemas import GUIDE_EXAMPLE, MessageIn, StaffMessageIn, TicketIn
from claimdesk.validation import MAX_PAGE

CODES_DOC = codes_markdown()

_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "No API key, or an unknown one.",
    403: "The key may not use this endpoint.",
    404: "Not found (another account's data answers the same).",
    409: "Conflicts with what is stored (a duplicate id, a second ticket of the same reason, a move not allowed).",
    413: "The body is over 1 MiB.",
    415: "The body is not JSON.",
    422: "Validation failed: `errors` lists every mistake, each with its code, one of "
    + ", ".join(f"`{code.value}`" for code in Code)
    + " (each explained in the API's description).",
    429: "Quota has been exceeded; retry after Retry-After seconds.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers an operation gives, each the one ``Error`` component."""
    return {code: {"description": _DESCRIPTIONS[code], "model": Error} for code in codes}


def answers(model: type[BaseModel], description: str, *errors: int, status: int = 200) -> dict[int | str, Any]:
    """An operation's answers: its success answer (documented by ``model``) and its error answers.

    Routes that use this declare ``response_model=None`` and return their own responses or plain dicts: the
    model documents the answer, the presenters build it (``tests/api/test_answers.py`` checks they agree).
    """
    return {status: {"description": description, "model": model}, **error_responses(*errors)}


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline the pydantic ``$defs`` so the request body stands on its own in the OpenAPI document."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


def body_of(model: Any, example: Any | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": _inline(model.model_json_schema())}
    if example is not None:
        content["example"] = example
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


TICKET_BODY = body_of(TicketIn, GUIDE_EXAMPLE)
ORDER_BODY = body_of(OrderIn, OrderIn.model_config.get("json_schema_extra", {}).get("example"))  # type: ignore[union-attr]
ORDER_STATUS_BODY = body_of(OrderStatusIn, {"orders": [{"id": "my_weborder_1234"}, {"supplier_order_number": 1}]})
MESSAGE_BODY = body_of(
    MessageIn, {"body": "Here is another photo.", "files": [{"uri": "https://reseller.example/p/2.jpg"}]}
)
STAFF_MESSAGE_BODY = body_of(StaffMessageIn, {"body": "Checked with production.", "internal": True})


def operation_id(route: APIRoute) -> str:
    """Short, stable operation ids for generated clients: the handler's name (``create_ticket``), with
    ``staff_`` in front on the staff routes, whose handlers share names with the resellers' ones."""
    if route.path.startswith("/staff/") and not route.name.startswith("staff_"):
        return f"staff_{route.name}"
    return route.name


_TIME = {"type": "string", "format": "date-time"}
_ID = {"type": "integer", "minimum": 1, "maximum": MAX_INT}

# What the service checks in each query parameter, by name (the lists share their parameters). The handlers
# take them as strings and check them themselves, so that every mistake is answered at once in the
# contract's terms; these schemas say what those checks accept.
QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "status": {"type": "string", "enum": [s.value for s in TicketStatus]},
    "reason": {"type": "string", "enum": [r.value for r in Reason]},
    "order_id": {"type": "string", "pattern": LINE_PATTERN},
    "updated_since": _TIME,
    "created_before": _TIME,
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
    # Cursors are URL-safe base64 without padding (tickets.listing.encode_cursor).
    "cursor": {
        "type": "string",
        "pattern": "^[A-Za-z0-9_-]+$",
        "description": "Opaque: the next_cursor of the previous page.",
    },
    "since": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
    "account": _ID,
    "assignee": {"oneOf": [_ID, {"type": "string", "enum": ["me", "none"]}]},
    "sort": {"type": "string", "enum": ["newest", "waiting"]},
    "q": {"type": "string", "pattern": LINE_PATTERN, "maxLength": MAX_SEARCH},
}


def without_framework_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Drop the ``422 HTTPValidationError`` answer FastAPI adds to every route with parameters, and say what
    each query parameter must be (``QUERY_SCHEMAS``).

    Every parameter is read as a string and checked by the service, which answers its own ``Error``; where an
    operation can give a 422, it declares it.
    """
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    parameter["schema"] = QUERY_SCHEMAS[parameter["name"]]
            answer = operation.get("responses", {}).get("422", {})
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref", "").endswith("/HTTPValidationError"):
                del operation["responses"]["422"]
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document


def exact_request_bodies(document: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    """Put every route's request body (``openapi_extra``) back into the document as its model states it.

    FastAPI passes ``openapi_extra`` through its own OpenAPI model, whose ``minimum``/``maximum`` are floats:
    the integer bounds came out as ``1.0`` and ``2147483647.0``, and a product id's ``2**63 - 1`` as
    ``9.223372036854776e+18`` (= ``2**63``, one more than the service accepts). Clients generated from that,
    and schemathesis, then sent values the service refuses.
    """
    for context in iter_route_contexts(list(routes)):
        route = context.original_route
        if not isinstance(route, APIRoute) or "requestBody" not in (route.openapi_extra or {}):
            continue
        assert route.openapi_extra is not None
        for method in route.methods or ():
            operation = document.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if operation is not None:
                operation["requestBody"] = copy.deepcopy(route.openapi_extra["requestBody"])
    return document


@functools.lru_cache(maxsize=256)
def path_pattern(template: str) -> re.Pattern[str]:
    """A regex for the request paths of a path template: ``/tickets/{ticket_id}`` -> ``/tickets/[^/]+``."""
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)))


def allowed_methods(document: dict[str, Any], path: str) -> list[str]:
    """The methods the document gives for the request path ``path`` (and HEAD beside GET), for ``Allow``.

    Starlette's own ``Allow`` names only the first route that matched the path, not the others at it.
    """
    methods: set[str] = set()
    for template, operations in document.get("paths", {}).items():
        if path_pattern(template).fullmatch(path):
            methods.update(method.upper() for method in operations)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)
