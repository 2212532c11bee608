"""The console's services on both databases: the queue's rows and counts, bulk actions, the desk's context."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from claimdesk.accounts.service import Actor, ActorType
from claimdesk.console import bulk, desk, queue
from claimdesk.console.search import search_problems
from claimdesk.db import Database
from claimdesk.exceptions import ValidationFailed
from claimdesk.models import EvidenceFile, Ticket
from claimdesk.rules.statuses import TicketStatus
from claimdesk.staff.service import StaffListQuery, parse_staff_query
from tests.factories import new_order, new_reseller, new_staff, new_ticket
from tests.lifecycle.support import World, world


def actor_of(w: World) -> Actor:
    return Actor(ActorType.STAFF, w.staff.id, w.staff.email)


def staff_query(w: World, **params: str | None) -> Any:
    names = ("status", "reason", "order_id", "updated_since", "limit", "cursor", "account", "assignee")
    given: dict[str, str | None] = dict.fromkeys((*names, "created_before"))
    given["sort"] = "waiting"
    given.update(params)
    return parse_staff_query(actor_of(w), StaffListQuery(**given))


class TestQueue:
    def test_rows_counts_and_order(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        first = w.ticket()
        second = w.flyer_ticket("color")
        other = new_reseller(db, "Other Prints")
        theirs = new_ticket(client, other, new_order(client, other))
        assert w.move(second["number"], "holding").status_code == 200
        assert client.post(
            f"/staff/tickets/{first['number']}/assign", json={"assignee": "me"}, headers=w.staff.headers
        ).is_success
        with db.session() as session:
            failed = session.scalars(sa.select(EvidenceFile).where(EvidenceFile.ticket_id == first["number"])).one()
        with db.transaction() as session:
            session.execute(
                sa.update(EvidenceFile).where(EvidenceFile.id == failed.id).values(state="failed", error="404")
            )

        with db.session() as session:
            page = queue.queue_page(session, staff_query(w))
        # Oldest waiting first; the holding ticket waits on the reseller and comes last.
        assert [r.number for r in page.rows] == [first["number"], theirs["number"], second["number"]]
        row = page.rows[0]
        assert row.account.name == w.reseller.name
        assert row.assignee is not None
        assert row.assignee.id == w.staff.id
        assert (row.evidence.failed, row.evidence.pending, row.evidence.total) == (1, 0, 1)
        assert [(line.ref, line.code, line.amount) for line in row.lines] == [(17, "banner-510", 2)]
        assert row.items_claimed == 2
        assert row.waiting_since is not None
        assert page.rows[2].waiting_since is None
        assert page.rows[1].account.name == "Other Prints"
        assert page.counts == {
            TicketStatus.OPEN: 2,
            TicketStatus.PENDING: 0,
            TicketStatus.HOLDING: 1,
            TicketStatus.SOLVED: 0,
        }
        assert page.total == 3

        with db.session() as session:
            mine = queue.queue_page(session, staff_query(w, assignee="me"))
            nobody_open = queue.queue_page(session, staff_query(w, assignee="none", status="open"))
            search, _ = search_problems("banner-510")
            found = queue.queue_page(session, staff_query(w), search)
        assert [r.number for r in mine.rows] == [first["number"]]
        assert [r.number for r in nobody_open.rows] == [theirs["number"]]
        # The tabs count under every filter but status.
        assert nobody_open.counts[TicketStatus.HOLDING] == 1
        assert {r.number for r in found.rows} == {first["number"], theirs["number"]}
        assert found.total == 2

    def test_a_page_costs_the_same_queries_for_one_ticket_or_many(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        w.ticket()
        counts = []
        for reason in ("color", "dirty", "dimensions", "other"):
            statements: list[str] = []

            def record(*args: Any, seen: list[str] = statements) -> None:
                seen.append(args[2])

            with db.session() as session:
                engine = session.get_bind()
                sa.event.listen(engine, "before_cursor_execute", record)
                try:
                    queue.queue_page(session, staff_query(w))
                finally:
                    sa.event.remove(engine, "before_cursor_execute", record)
            counts.append(len(statements))
            w.flyer_ticket(reason)
        assert len(set(counts)) == 1, counts


class TestBulk:
    def test_assign_and_move_with_one_refusal(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        tickets = [w.flyer_ticket(reason) for reason in ("color", "dirty", "dimensions")]
        numbers = [t["number"] for t in tickets]
        assert w.move(numbers[1], "holding").status_code == 200
        colleague = new_staff(db)
        with db.transaction() as session:
            assigned = bulk.bulk_assign(session, actor_of(w), bulk.ticket_numbers(numbers), colleague.id)
        assert [r.outcome for r in assigned] == [bulk.Outcome.DONE] * 3
        with db.transaction() as session:
            again = bulk.bulk_assign(session, actor_of(w), numbers, colleague.id)
        assert [r.outcome for r in again] == [bulk.Outcome.UNCHANGED] * 3

        # open -> pending is allowed, holding -> pending too; pending again is not.
        assert w.move(numbers[2], "pending").status_code == 200
        with db.transaction() as session:
            moved = bulk.bulk_move(session, actor_of(w), numbers, "pending", message="We are on it.")
        assert [(r.number, r.ok) for r in moved] == [(numbers[0], True), (numbers[1], True), (numbers[2], False)]
        assert "cannot move to pending" in moved[2].message
        views = [w.staff_get(n) for n in numbers]
        assert [v["status"] for v in views] == ["pending", "pending", "pending"]
        assert all(v["assignee"]["id"] == colleague.id for v in views)
        assert views[0]["messages"][-1]["body"] == "We are on it."
        # The refused ticket kept no trace of the attempt: no message, no history entry.
        assert [m["body"] for m in views[2]["messages"]] == []
        assert [h["action"] for h in views[2]["history"]] == ["created", "assigned", "status_changed"]

    def test_solving_in_bulk_needs_a_resolution_and_says_so(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        with db.transaction() as session:
            [result] = bulk.bulk_move(session, actor_of(w), [ticket["number"]], "solved")
            [missing] = bulk.bulk_move(session, actor_of(w), [999_999], "pending")
        assert result.outcome is bulk.Outcome.REFUSED
        assert "needs a resolution" in result.message
        assert missing.outcome is bulk.Outcome.REFUSED
        assert "not found" in missing.message
        assert w.staff_get(ticket["number"])["status"] == "open"

    @pytest.mark.parametrize(
        ("values", "code"), [([], "required"), (["x"], "invalid_type"), (list(range(1, 202)), "too_many")]
    )
    def test_ticket_numbers(self, values: list[Any], code: str) -> None:
        with pytest.raises(ValidationFailed) as caught:
            bulk.ticket_numbers(values)
        assert caught.value.problems[0].code == code

    def test_ticket_numbers_are_sorted_once(self) -> None:
        assert bulk.ticket_numbers(["3", 1, "3", "2"]) == [1, 2, 3]


class TestDesk:
    def test_lines_other_tickets_and_rate(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)  # the order: 3 of product 17, 500 flyers
        first = w.ticket(products=[{"id": 17, "amount": 2, "files": [{"uri": "https://93.184.215.14/a.jpg"}]}])
        second = w.flyer_ticket("color")
        third = w.flyer_ticket("dirty")
        assert w.move(third["number"], "solved", resolution={"outcome": "rejected", "note": "No damage."}).is_success
        assert w.move(
            first["number"],
            "solved",
            resolution={"outcome": "credit", "note": "Credited one.", "products": [{"id": 17, "granted": 1}]},
        ).is_success
        with db.session() as session:
            ticket = session.get(Ticket, first["number"])
            assert ticket is not None
            context = desk.desk_context(session, ticket)
        [line] = context.lines
        assert (line.ref, line.ordered, line.claimed, line.claimable, line.granted) == (17, 3, 2, 1, 1)
        assert [t.number for t in context.other_tickets] == [third["number"], second["number"]]
        assert (context.other_count, context.open_elsewhere) == (2, 1)
        # 2 banners + 1 flyer claimed (the rejected flyer claims nothing) over 503 items ordered.
        assert (context.complaint_rate.claimed, context.complaint_rate.ordered) == (3, 503)
        assert context.allowed_moves == (TicketStatus.PENDING,)
        assert context.order_external_id == w.order["id"]
