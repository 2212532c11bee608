"""Small typed factories for tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

from claimdesk.accounts.service import Role, create_account, create_staff
from claimdesk.db import Database

_counter = itertools.count(1)


@dataclass(frozen=True)
class Reseller:
    id: int
    name: str
    key: str
    callback_secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass(frozen=True)
class StaffMember:
    id: int
    email: str
    key: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def new_reseller(db: Database, name: str | None = None) -> Reseller:
    with db.transaction() as session:
        account, key = create_account(session, name or f"Reseller {next(_counter)}")
        return Reseller(account.id, account.name, key, account.callback_secret)


def new_staff(db: Database, role: Role = Role.AGENT, email: str | None = None) -> StaffMember:
    with db.transaction() as session:
        staff, key, password = create_staff(session, email or f"agent{next(_counter)}@supplier.example", role=role)
        return StaffMember(staff.id, staff.email, key, password)


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"order-{next(_counter)}",
        "reference": "Banner 510 for customer X",
        "customer_email": "end.customer@example.org",
        "products": [{"id": 17, "code": "banner-510", "amount": 3}, {"id": "flyer", "code": "flyer-a5", "amount": 500}],
    }
    body.update(overrides)
    return body


def new_order(client: httpx.Client, reseller: Reseller, **overrides: Any) -> dict[str, Any]:
    response = client.post("/order", json=order_body(**overrides), headers=reseller.headers)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()["order"]
    return order


def ticket_body(order: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The guide's example ticket, on the first product line of ``order``."""
    body: dict[str, Any] = {
        "order_id": order["id"],
        "id": f"complaint-{next(_counter)}",
        "description": "Two banners arrived torn",
        "reason": "damaged",
        "suggested_solution": "rework",
        "contact_email": "support@reseller.example",
        "products": [
            {"id": order["products"][0]["id"], "amount": 2, "files": [{"uri": "https://93.184.215.14/photos/77-1.jpg"}]}
        ],
    }
    body.update(overrides)
    return body


def new_ticket(client: httpx.Client, reseller: Reseller, order: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    response = client.post("/tickets", json=ticket_body(order, **overrides), headers=reseller.headers)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()["ticket"]
    return ticket
