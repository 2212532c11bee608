"""The OpenAPI document and the interactive docs."""

from __future__ import annotations

from typing import Any

import httpx

from claimdesk.rules.codes import Code
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

    def test_operation_ids_are_short_and_stable(self, client: httpx.Client) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        ids = {(method, path): op["operationId"] for path, ops in paths.items() for method, op in ops.items()}
        assert len(set(ids.values())) == len(ids)
        for key, expected in {
            ("post", "/tickets"): "create_ticket",
            ("get", "/tickets"): "list_tickets",
            ("get", "/tickets/{ticket_id}"): "get_ticket",
            ("get", "/staff/tickets"): "staff_list_tickets",
            ("get", "/staff/tickets/{number}"): "staff_get_ticket",
            ("get", "/reasons"): "list_reasons",
            ("get", "/account"): "get_account",
            ("get", "/events"): "list_events",
            ("post", "/webhooks"): "create_webhook",
        }.items():
            assert ids[key] == expected
        assert all(len(operation_id) <= 32 and "__" not in operation_id for operation_id in ids.values())

    def test_answers_are_named_components(self, client: httpx.Client) -> None:
        document = client.get("/openapi.json").json()
        schemas = document["components"]["schemas"]
        for name in (
            "Ticket",
            "TicketList",
            "Order",
            "OrderStatus",
            "Reason",
            "Solution",
            "Account",
            "Event",
            "EventList",
            "Webhook",
            "Delivery",
            "Error",
        ):
            assert name in schemas, name
        assert "HTTPValidationError" not in schemas
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                for status, answer in operation["responses"].items():
                    if status == "204" or (path.startswith(("/files", "/staff/files")) and status == "200"):
                        continue
                    schema = answer["content"]["application/json"]["schema"]
                    assert "$ref" in schema, (method, path, status)
                    if status >= "400":
                        assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)

    def test_every_code_is_in_the_description(self, client: httpx.Client) -> None:
        document = client.get("/openapi.json").json()
        for code in Code:
            assert f"`{code.value}`" in document["info"]["description"]
            assert code.meaning in document["info"]["description"]
        codes = document["components"]["schemas"]["ErrorItem"]["properties"]["code"]["enum"]
        assert codes == [code.value for code in Code]
