"""A hypothesis state machine of the ticket lifecycle, driving the real app over HTTP (a real server on
127.0.0.1, one per example) against a real database, SQLite and PostgreSQL, each example on a fresh copy of
the migrated template.

Two accounts and two staff members create tickets, write messages and internal notes, upload small real
images, move, solve, reopen and assign at random. The model predicts each answer's status (the guide's and
API.md's rules), and after every step the invariants are checked against what the API shows:

- the items claimed on an order line (rejected tickets excluded) never exceed the ordered amount, and the
  ``claimable`` the service reports is exactly what is left;
- no two unsolved tickets of one reason hold one product;
- history is append-only, its last entry's status is the ticket's status, and each ``status_changed`` entry
  comes ``from`` the status before it;
- each change the reseller can see made exactly one event, the others none, and each ticket's sequence runs
  1..n with no gap;
- no reseller ever sees an internal note or another account's tickets or events.

``CLAIMDESK_MACHINE_EXAMPLES`` (default 4 per database) and ``CLAIMDESK_MACHINE_STEPS`` (default 20) make the
long run: ``CLAIMDESK_MACHINE_EXAMPLES=100 CLAIMDESK_MACHINE_STEPS=40 pytest tests/reliability`` (which
``HYPOTHESIS_PROFILE=long`` also sets, with random seeds).
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from claimdesk.app import create_app
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.rules.statuses import TRANSITIONS, Outcome, TicketStatus
from claimdesk.testing.postgres import PostgresServer
from claimdesk.testing.server import ThreadedServer
from tests.conftest import DATABASES, LONG_PROFILE, TEMPLATE
from tests.factories import Reseller, StaffMember, new_order, new_reseller, new_staff
from tests.files.fileserver import png_bytes

EXAMPLES = int(os.environ.get("CLAIMDESK_MACHINE_EXAMPLES", "100" if LONG_PROFILE else "4"))
STEPS = int(os.environ.get("CLAIMDESK_MACHINE_STEPS", "40" if LONG_PROFILE else "20"))

# The two order lines every account orders: (product id, ordered amount). Few items on the first line, so
# that the amount rule is hit often.
LINES: list[tuple[int | str, int]] = [(17, 3), ("flyer", 500)]
REASONS = ["damaged", "delayed", "wrong-quantity"]  # damaged needs files; the others do not
IMAGE = png_bytes((8, 8), "teal")


@dataclass
class Ticket:
    account: int  # index of the reseller
    external_id: str
    number: int
    reason: str
    products: dict[str, int]  # product key -> amount claimed
    status: TicketStatus = TicketStatus.OPEN
    outcome: Outcome | None = None
    events: int = 1  # ticket.created
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def claims(self) -> bool:
        """Whether its items count against the order (rejected tickets give them back)."""
        return not (self.status.is_solved and self.outcome is Outcome.REJECTED)


@dataclass
class World:
    url: str
    db: Database
    root: Path


def _key(product: int | str) -> str:
    return str(product)


class LifecycleMachine(RuleBasedStateMachine):
    world_factory: Any = None  # set by the test: () -> World, a fresh database per example

    def __init__(self) -> None:
        super().__init__()
        self.world: World = type(self).world_factory()
        app = create_app(
            Settings(
                database_url=self.world.url,
                storage_dir=str(self.world.root / "files"),
                rate_limit="100000/minute",
                allow_private_urls=False,
            ),
            database=self.world.db,
            worker=False,
        )
        self.server = ThreadedServer(app).__enter__()
        self.http = httpx.Client(base_url=self.server.url, timeout=30)
        self.resellers: list[Reseller] = [new_reseller(self.world.db) for _ in range(2)]
        self.staff: list[StaffMember] = [new_staff(self.world.db) for _ in range(2)]
        self.orders = [
            new_order(self.http, r, id="order-1", products=[{"id": p, "amount": a} for p, a in LINES])
            for r in self.resellers
        ]
        self.tickets: list[Ticket] = []
        self.notes: list[str] = []  # every internal note's body: no reseller may ever see one
        self.counter = 0

    def teardown(self) -> None:
        self.http.close()
        self.server.__exit__(None, None, None)
        self.world.db.dispose()
        shutil.rmtree(self.world.root, ignore_errors=True)

    # --- helpers ---------------------------------------------------------------------------------------

    def _fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def _claimed(self, account: int, key: str, *, without: Ticket | None = None) -> int:
        return sum(
            t.products.get(key, 0) for t in self.tickets if t.account == account and t.claims and t is not without
        )

    def _holder(self, account: int, reason: str, keys: list[str], *, without: Ticket | None = None) -> bool:
        return any(
            t.reason == reason and not t.status.is_solved and set(keys) & set(t.products)
            for t in self.tickets
            if t.account == account and t is not without
        )

    def _after_change(self, ticket: Ticket, answer: Any, *, events: int) -> None:
        """A change was accepted: the model's ticket follows the stored one and counts its events."""
        view = self.http.get(f"/staff/tickets/{ticket.number}", headers=self.staff[0].headers).json()
        ticket.status = TicketStatus(view["status"])
        ticket.events += events

    # --- rules -----------------------------------------------------------------------------------------

    @rule(
        account=st.integers(0, 1),
        reason=st.sampled_from(REASONS),
        lines=st.lists(st.sampled_from([0, 1]), min_size=1, max_size=2, unique=True),
        amounts=st.tuples(st.integers(1, 3), st.integers(1, 300)),
    )
    def create(self, account: int, reason: str, lines: list[int], amounts: tuple[int, int]) -> None:
        reseller = self.resellers[account]
        external_id = self._fresh("complaint")
        products = []
        claimed: dict[str, int] = {}
        for index in lines:
            product, _ = LINES[index]
            line: dict[str, Any] = {"id": product, "amount": amounts[index]}
            if reason == "damaged":
                line["files"] = [{"uri": f"https://93.184.215.14/photos/{external_id}-{index}.jpg"}]
            products.append(line)
            claimed[_key(product)] = amounts[index]
        body = {
            "order_id": "order-1",
            "id": external_id,
            "description": "Arrived wrong",
            "reason": reason,
            "suggested_solution": "rework",
            "contact_email": "support@reseller.example",
            "products": products,
        }
        ordered = {_key(p): a for p, a in LINES}
        exceeds = any(amount + self._claimed(account, key) > ordered[key] for key, amount in claimed.items())
        held = self._holder(account, reason, list(claimed))
        answer = self.http.post("/tickets", json=body, headers=reseller.headers)
        expected = {201} if not exceeds and not held else ({422} if not held else {409} if not exceeds else {409, 422})
        assert answer.status_code in expected, (expected, answer.text)
        if answer.status_code == 422:
            assert {e["code"] for e in answer.json()["errors"]} == {"amount_exceeds_order"}, answer.text
        if answer.status_code == 201:
            number = answer.json()["ticket"]["number"]
            self.tickets.append(Ticket(account, external_id, number, reason, claimed))

    @precondition(lambda self: self.tickets)
    @rule(data=st.data(), account=st.integers(0, 1))
    def reseller_message(self, data: st.DataObject, account: int) -> None:
        ticket = data.draw(st.sampled_from(self.tickets))
        body = {"body": self._fresh("reply")}
        answer = self.http.post(
            f"/tickets/{ticket.external_id}/messages", json=body, headers=self.resellers[account].headers
        )
        if account != ticket.account:
            # Another account's ticket is not there for this account (unless it has a ticket of that id).
            own = any(t.account == account and t.external_id == ticket.external_id for t in self.tickets)
            assert own or answer.status_code == 404, answer.text
            return
        if ticket.status.is_solved:
            assert answer.status_code == 409, answer.text
            return
        assert answer.status_code == 201, answer.text
        was_holding = ticket.status is TicketStatus.HOLDING
        self._after_change(ticket, answer, events=1)
        assert ticket.status is (TicketStatus.PENDING if was_holding else ticket.status)

    @precondition(lambda self: self.tickets)
    @rule(data=st.data(), staff=st.integers(0, 1), internal=st.booleans())
    def staff_message(self, data: st.DataObject, staff: int, internal: bool) -> None:
        ticket = data.draw(st.sampled_from(self.tickets))
        text = self._fresh("internal-note" if internal else "staff-reply")
        body = {"body": text, "internal": internal}
        answer = self.http.post(
            f"/staff/tickets/{ticket.number}/messages", json=body, headers=self.staff[staff].headers
        )
        if ticket.status.is_solved and not internal:
            assert answer.status_code == 409, answer.text
            return
        assert answer.status_code == 201, answer.text
        if internal:
            self.notes.append(text)
        self._after_change(ticket, answer, events=0 if internal else 1)

    @precondition(lambda self: self.tickets)
    @rule(data=st.data())
    def upload(self, data: st.DataObject) -> None:
        ticket = data.draw(st.sampled_from(self.tickets))
        product = data.draw(st.sampled_from(sorted(ticket.products)))
        files = [("files", ("photo.png", IMAGE, "image/png"))]
        answer = self.http.post(
            f"/tickets/{ticket.external_id}/files",
            files=files,
            data={"product": product},
            headers=self.resellers[ticket.account].headers,
        )
        if ticket.status.is_solved:
            assert answer.status_code == 409, answer.text
            return
        assert answer.status_code == 201, answer.text
        self._after_change(ticket, answer, events=self._new_events(ticket))

    def _new_events(self, ticket: Ticket) -> int:
        """Events the service recorded for ``ticket`` beyond the model's count (checked to be 0 or 1)."""
        seen = len(self._events(ticket.account).get(ticket.number, []))
        assert seen - ticket.events in (0, 1), (seen, ticket.events)
        return seen - ticket.events

    @precondition(lambda self: self.tickets)
    @rule(
        data=st.data(),
        staff=st.integers(0, 1),
        to=st.sampled_from([TicketStatus.PENDING, TicketStatus.HOLDING, TicketStatus.SOLVED]),
        outcome=st.sampled_from(list(Outcome)),
        message=st.booleans(),
    )
    def move(self, data: st.DataObject, staff: int, to: TicketStatus, outcome: Outcome, message: bool) -> None:
        ticket = data.draw(st.sampled_from(self.tickets))
        body: dict[str, Any] = {"status": to.value}
        if to.is_solved:
            body["resolution"] = {"outcome": outcome.value, "note": "Done."}
        if message:
            body["message"] = self._fresh("status-note")
        allowed = ticket.status.can_move_to(to)
        blocked = False
        if allowed and ticket.status.is_solved:  # a reopen claims the items again and keeps the grouping rule
            ordered = {_key(p): a for p, a in LINES}
            if ticket.outcome is Outcome.REJECTED:
                blocked |= any(
                    amount + self._claimed(ticket.account, key, without=ticket) > ordered[key]
                    for key, amount in ticket.products.items()
                )
            blocked |= self._holder(ticket.account, ticket.reason, list(ticket.products), without=ticket)
        answer = self.http.post(f"/staff/tickets/{ticket.number}/status", json=body, headers=self.staff[staff].headers)
        if not allowed or blocked:
            assert answer.status_code == 409, (ticket.status, to, answer.text)
            return
        assert answer.status_code == 200, (ticket.status, to, answer.text)
        ticket.outcome = outcome if to.is_solved else None
        self._after_change(ticket, answer, events=1)
        assert ticket.status is to

    @precondition(lambda self: self.tickets)
    @rule(data=st.data(), staff=st.integers(0, 1))
    def assign(self, data: st.DataObject, staff: int) -> None:
        ticket = data.draw(st.sampled_from(self.tickets))
        answer = self.http.post(
            f"/staff/tickets/{ticket.number}/assign", json={"assignee": "me"}, headers=self.staff[staff].headers
        )
        assert answer.status_code == 200, answer.text
        self._after_change(ticket, answer, events=0)

    # --- invariants ------------------------------------------------------------------------------------

    def _events(self, account: int) -> dict[int, list[int]]:
        """The account's events as GET /events shows them: ticket number -> sequences, in order."""
        sequences: dict[int, list[int]] = {}
        since = 0
        while True:
            answer = self.http.get(
                "/events", params={"since": since, "limit": 200}, headers=self.resellers[account].headers
            )
            assert answer.status_code == 200, answer.text
            page = answer.json()
            for event in page["events"]:
                assert not any(note in str(event) for note in self.notes), event
                sequences.setdefault(event["data"]["ticket"]["number"], []).append(event["data"]["sequence"])
            if not page["events"]:
                return sequences
            since = page["next_since"]

    @invariant()
    def claims_within_orders(self) -> None:
        for account, reseller in enumerate(self.resellers):
            answer = self.http.post("/order/status", json={"orders": [{"id": "order-1"}]}, headers=reseller.headers)
            assert answer.status_code == 200, answer.text
            lines = {_key(line["id"]): line for line in answer.json()["orders"][0]["products"]}
            for product, ordered in LINES:
                claimed = self._claimed(account, _key(product))
                assert claimed <= ordered, (product, claimed, ordered)
                assert lines[_key(product)]["claimable"] == ordered - claimed, (product, lines[_key(product)])

    @invariant()
    def one_unsolved_ticket_per_reason_and_product(self) -> None:
        staff = self.staff[0].headers
        answer = self.http.get("/staff/tickets", params={"limit": 200}, headers=staff)
        assert answer.status_code == 200, answer.text
        listed = answer.json()["tickets"]
        assert len(listed) == len(self.tickets)
        seen: set[tuple[int, str, str]] = set()
        for view in listed:
            if view["status"] == TicketStatus.SOLVED:
                continue
            full = self.http.get(f"/staff/tickets/{view['number']}", headers=staff).json()
            ticket = next(t for t in self.tickets if t.number == view["number"])
            for product in full["products"]:
                slot = (ticket.account, full["reason"], _key(product["id"]))
                assert slot not in seen, slot
                seen.add(slot)

    @invariant()
    def history_is_append_only_and_agrees(self) -> None:
        for ticket in self.tickets:
            view = self.http.get(f"/staff/tickets/{ticket.number}", headers=self.staff[1].headers).json()
            history = view["history"]
            assert history[: len(ticket.history)] == ticket.history, "history was rewritten"
            assert history[0]["action"] == "created"
            assert history[0]["status"] == TicketStatus.OPEN
            assert history[-1]["status"] == view["status"] == ticket.status
            for before, entry in itertools.pairwise(history):
                if entry["action"] == "status_changed":
                    assert entry["from"] == before["status"], entry
                    assert TicketStatus(entry["status"]) in TRANSITIONS[TicketStatus(before["status"])], entry
                else:
                    assert entry["status"] == before["status"], entry
            ticket.history = history

    @invariant()
    def one_event_per_change_without_gaps(self) -> None:
        for account in range(2):
            events = self._events(account)
            mine = {t.number: t for t in self.tickets if t.account == account}
            assert set(events) <= set(mine), "an event of another account's ticket"
            for number, ticket in mine.items():
                sequences = events.get(number, [])
                assert sequences == list(range(1, len(sequences) + 1)), (number, sequences)
                assert len(sequences) == ticket.events, (number, len(sequences), ticket.events)

    @invariant()
    def resellers_see_only_their_own_and_no_notes(self) -> None:
        for account, reseller in enumerate(self.resellers):
            answer = self.http.get("/tickets", params={"limit": 200}, headers=reseller.headers)
            assert answer.status_code == 200, answer.text
            listed = {t["id"] for t in answer.json()["tickets"]}
            assert listed == {t.external_id for t in self.tickets if t.account == account}
            for ticket in self.tickets:
                shown = self.http.get(f"/tickets/{ticket.external_id}", headers=reseller.headers)
                if ticket.account != account:
                    assert shown.status_code == 404, shown.text
                    continue
                assert shown.status_code == 200, shown.text
                assert not any(note in shown.text for note in self.notes), shown.text
                assert all("internal" not in message for message in shown.json()["messages"])


@pytest.fixture(params=DATABASES)
def worlds(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A factory of fresh databases: a copy of the migrated SQLite file, or a PostgreSQL template copy."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")

        def sqlite_world() -> World:
            root = tmp_path / uuid.uuid4().hex[:12]
            root.mkdir()
            shutil.copyfile(template, root / "claimdesk.db")
            url = f"sqlite:///{root / 'claimdesk.db'}"
            return World(url, Database(url), root)

        return sqlite_world
    server: PostgresServer = request.getfixturevalue("pg_server")

    def postgres_world() -> World:
        root = tmp_path / uuid.uuid4().hex[:12]
        root.mkdir()
        url = server.create_database(f"m_{uuid.uuid4().hex[:12]}", template=TEMPLATE)
        return World(url, Database(url), root)

    return postgres_world


def test_ticket_lifecycle(worlds: Any) -> None:
    LifecycleMachine.world_factory = staticmethod(worlds)
    run_state_machine_as_test(
        LifecycleMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            derandomize=os.environ.get("CLAIMDESK_MACHINE_EXAMPLES") is None and not LONG_PROFILE,
            suppress_health_check=list(HealthCheck),
        ),
    )
