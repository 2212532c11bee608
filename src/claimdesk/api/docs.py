"""OpenAPI pieces: request bodies (the handlers read JSON themselves) and the documented errors."""

from __future__ import annotations

from typing import Any

from claimdesk.orders.schemas import OrderIn, OrderStatusIn
from claimdesk.tickets.schemas import GUIDE_EXAMPLE, MessageIn, StaffMessageIn, TicketIn

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "One human sentence."},
        "errors": {
            "type": "array",
            "description": "Every mistake in the body, each at its field.",
            "items": {
                "type": "object",
                "required": ["loc", "code", "message"],
                "properties": {
                    "loc": {"type": "string", "example": "products.0.files"},
                    "code": {"type": "string", "example": "files_required"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

FIELD_CODES_DOC = """Field codes in `errors[].code`:
`required`, `invalid_type`, `invalid_choice`, `invalid_email`, `invalid_uri`, `url_not_allowed`,
`too_long`, `too_short`, `invalid_text`, `too_many`, `too_few`, `out_of_range`, `duplicate_product`,
`unknown_field` (with the nearest known field), and the guide's rules: `order_not_found`,
`supplier_order_number_given`, `product_not_in_order`, `files_required`, `amount_exceeds_order`,
`customer_email_given`."""

_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "No API key, or an unknown one.",
    403: "The key may not use this endpoint.",
    404: "Not found (another account's data answers the same).",
    409: "Conflicts with what is stored (a duplicate id, a second ticket of the same reason, a move not allowed).",
    413: "The body is over 1 MiB.",
    415: "The body is not JSON.",
    422: "Validation failed. " + FIELD_CODES_DOC,
    429: "Quota has been exceeded; retry after Retry-After seconds.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"description": _DESCRIPTIONS[code], "content": {"application/json": {"schema": ERROR_SCHEMA}}}
        for code in codes
    }


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
