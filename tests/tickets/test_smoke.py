from __future__ import annotations

import httpx

from claimdesk.db import Database
from tests.factories import new_order, new_reseller, ticket_body


def test_guide_example_is_received(client: httpx.Client, db: Database) -> None:
    reseller = new_reseller(db)
    order = new_order(client, reseller)
    response = client.post("/tickets", json=ticket_body(order), headers=reseller.headers)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "open"
