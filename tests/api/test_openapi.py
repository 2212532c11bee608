"""The OpenAPI document and the interactive docs."""

from __future__ import annotations

from typing import Any

import httpx

from claimdesk.tickets.schemas import GUIDE_EXAMPLE

GUIDE = {
    "order_id": "my_weborder_1234",
    "id": "complaint-77",
    "description": "Two banners arrived torn",
    "reason": "damaged",
    "suggested_solution": "rework",
    "contact_email": "support@reseller.example",
    "products": [{"id": 17, "amount": 2, "files": [{"uri": "https://reseller.example/photos/77-1.jpg"}]}],
}


class TestOpenApi:
    def test_document(self, client: httpx.Client) -> None:
        response = client.get("/openapi.json")
        assert response.status_code == 200
        document: dict[str, Any] = response.json()
        assert document["openapi"].startswith("3.")
        paths = document["paths"]
        for path, method in [
            ("/tickets", "post"),
            ("/tickets", "get"),
            ("/tickets/validate", "post"),
            ("/tickets/{ticket_id}", "get"),
            ("/order", "post"),
            ("/order/status", "post"),
            ("/reasons", "get"),
            ("/solutions", "get"),
            ("/account", "get"),
        ]:
            assert method in paths[path], (path, method)
            assert paths[path][method].get("description") or paths[path][method].get("summary"), (path, method)

    def test_ticket_body_has_the_guide_example(self, client: httpx.Client) -> None:
        operation = client.get("/openapi.json").json()["paths"]["/tickets"]["post"]
        content = operation["requestBody"]["content"]["application/json"]
        assert content["example"] == GUIDE == GUIDE_EXAMPLE
        schema = content["schema"]
        assert set(schema["required"]) == {
            "order_id",
            "id",
            "reason",
            "suggested_solution",
            "contact_email",
            "products",
        }
        assert set(schema["properties"]) == {*schema["required"], "description"}
        reasons = schema["properties"]["reason"]
        assert len(reasons.get("enum", [])) == 14, reasons
        assert "$ref" not in str(schema)  # the body stands on its own

    def test_error_codes_are_documented(self, client: httpx.Client) -> None:
        operation = client.get("/openapi.json").json()["paths"]["/tickets"]["post"]
        responses = operation["responses"]
        for status in ("201", "200", "400", "401", "409", "413", "415", "422", "429"):
            assert status in responses, status
        described = responses["422"]["description"]
        for code in ("files_required", "amount_exceeds_order", "supplier_order_number_given", "unknown_field"):
            assert code in described

    def test_docs_page(self, client: httpx.Client) -> None:
        response = client.get("/docs")
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
        assert "openapi.json" in response.text
