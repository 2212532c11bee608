"""Shared steps of the lifecycle tests: a reseller with an order and a ticket, a staff member, moves."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from claimdesk.db import Database
from claimdesk.models import Event
from claimdesk.rules.statuses import TRANSITIONS, TicketStatus
from tests.factories import Reseller, StaffMember, new_order, new_reseller, new_staff, new_ticket

RESOLUTION = {"outcome": "rework", "note": "We print them again."}


@dataclass
class World:
    client: httpx.Client
    db: Database
    reseller: Reseller
    staff: StaffMember
    order: dict[str, Any]

    def ticket(self, **overrides: Any) -> dict[str, Any]:
        return new_ticket(self.client, self.reseller, self.order, **overrides)

    def flyer_ticket(self, reason: str) -> dict[str, Any]:
        """A ticket for one flyer (500 ordered), so that many tickets fit on one order."""
        line = {"id": "flyer", "amount": 1, "files": [{"uri": "https://93.184.215.14/flyer.jpg"}]}
        return self.ticket(reason=reason, products=[line])

    def staff_get(self, number: int) -> dict[str, Any]:
        response = self.client.get(f"/staff/tickets/{number}", headers=self.staff.headers)
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    def reseller_get(self, ticket_id: str) -> dict[str, Any]:
        response = self.client.get(f"/tickets/{ticket_id}", headers=self.reseller.headers)
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    def move(self, number: int, status: str, **body: Any) -> httpx.Response:
        if status == "solved" and "resolution" not in body:
            body["resolution"] = RESOLUTION
        return self.client.post(
            f"/staff/tickets/{number}/status", json={"status": status, **body}, headers=self.staff.headers
        )

    def walk(self, number: int, path: list[TicketStatus]) -> None:
        for status in path:
            response = self.move(number, status.value)
            assert response.status_code == 200, response.text

    def events(self, ticket_number: int) -> list[Event]:
        with self.db.session() as session:
            return list(session.scalars(sa.select(Event).where(Event.ticket_id == ticket_number).order_by(Event.id)))


def world(client: httpx.Client, db: Database) -> World:
    reseller = new_reseller(db)
    return World(client, db, reseller, new_staff(db), new_order(client, reseller))


def path_to(target: TicketStatus) -> list[TicketStatus]:
    """The shortest walk from open to ``target`` through the rule table (breadth first)."""
    routes: dict[TicketStatus, list[TicketStatus]] = {TicketStatus.OPEN: []}
    queue = deque([TicketStatus.OPEN])
    while queue:
        current = queue.popleft()
        for nxt in TRANSITIONS[current]:
            if nxt not in routes:
                routes[nxt] = [*routes[current], nxt]
                queue.append(nxt)
    return routes[target]


ALLOWED = [(source, target) for source, targets in TRANSITIONS.items() for target in targets]
FORBIDDEN = [
    (source, target) for source in TicketStatus for target in TicketStatus if target not in TRANSITIONS[source]
]
