"""The OpenAPI document states request bodies exactly as the models that validate them.

FastAPI passes ``openapi_extra`` through its own OpenAPI model, whose numeric fields are floats: the product
id's ``maximum`` ``2**63 - 1`` came out as ``9.223372036854776e+18`` (``2**63``, a value the service refuses)
and the amounts' bounds as ``1.0`` and ``2147483647.0``; schemathesis then generated bodies the service
refused (its "schema is looser than the API" warning) and generated clients took ``2**63`` for valid.
"""

from __future__ import annotations

import re
from typing import Any

from claimdesk.api.docs import MESSAGE_BODY, ORDER_BODY, ORDER_STATUS_BODY, STAFF_MESSAGE_BODY, TICKET_BODY
from claimdesk.orders.schemas import OrderIn
from claimdesk.rules.fields import MAX_INT
from claimdesk.tickets.listing import encode_cursor
from claimdesk.validation import parse
from tests.api.test_schemathesis import DOCUMENT


def _floats(node: Any, where: str = "") -> list[str]:
    if isinstance(node, float):
        return [where]
    if isinstance(node, dict):
        return [w for key, value in node.items() for w in _floats(value, f"{where}/{key}")]
    if isinstance(node, list):
        return [w for index, value in enumerate(node) for w in _floats(value, f"{where}/{index}")]
    return []


def test_no_number_in_the_document_was_turned_into_a_float() -> None:
    assert _floats(DOCUMENT) == []


def test_request_bodies_are_the_models_own() -> None:
    paths = DOCUMENT["paths"]
    assert paths["/order"]["post"]["requestBody"] == ORDER_BODY["requestBody"]
    assert paths["/order/status"]["post"]["requestBody"] == ORDER_STATUS_BODY["requestBody"]
    assert paths["/tickets"]["post"]["requestBody"] == TICKET_BODY["requestBody"]
    assert paths["/tickets/validate"]["post"]["requestBody"] == TICKET_BODY["requestBody"]
    assert paths["/tickets/{ticket_id}/messages"]["post"]["requestBody"] == MESSAGE_BODY["requestBody"]
    assert paths["/staff/tickets/{number}/messages"]["post"]["requestBody"] == STAFF_MESSAGE_BODY["requestBody"]


def test_the_documented_product_id_bounds_are_the_enforced_ones() -> None:
    body = DOCUMENT["paths"]["/order"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    line = body["properties"]["products"]["items"]["properties"]
    integer = next(s for s in line["id"]["anyOf"][0]["oneOf"] if s["type"] == "integer")
    assert (integer["minimum"], integer["maximum"]) == (-MAX_INT, MAX_INT)
    assert (line["amount"]["minimum"], line["amount"]["maximum"]) == (1, 2_147_483_647)
    for value, accepted in [(MAX_INT, True), (-MAX_INT, True), (MAX_INT + 1, False), (-MAX_INT - 1, False)]:
        _, problems = parse(OrderIn, {"id": "o", "products": [{"id": value, "amount": 1}]})
        assert (problems == []) is accepted, (value, problems)


def test_cursors_given_out_match_the_documented_pattern() -> None:
    pattern = DOCUMENT["paths"]["/tickets"]["get"]["parameters"]
    cursor = next(p for p in pattern if p["name"] == "cursor")["schema"]["pattern"]
    samples: list[dict[str, Any]] = [{"n": 1}, {"before": "2026-01-01T00:00:00Z", "n": 2**62}, {"x": "é" * 40}]
    for data in samples:
        assert re.fullmatch(cursor, encode_cursor(data))
