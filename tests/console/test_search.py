"""GET /staff/tickets?q=: the full-text index kept by triggers, exact hits first, filters and pages."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa

from claimdesk.accounts.service import Actor, ActorType
from claimdesk.db import Database
from claimdesk.migrate import alembic_config
from claimdesk.tickets.service import draft_ticket, file_ticket, file_tickets
from tests.factories import new_order, new_reseller, new_ticket, ticket_body
from tests.lifecycle.support import World, world

SEARCH_REVISION = "e11c0a50f7a1"


def found(w: World, q: str, **params: Any) -> list[int]:
    response = w.client.get("/staff/tickets", params={"q": q, **params}, headers=w.staff.headers)
    assert response.status_code == 200, response.text
    return [t["number"] for t in response.json()["tickets"]]


class TestSearch:
    def test_finds_by_every_field(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        torn = w.ticket(id="complaint-77", description="Two banners arrived torn at the edges")
        other = w.flyer_ticket("color")
        assert found(w, "complaint-77") == [torn["number"]]
        assert found(w, str(torn["number"]))[0] == torn["number"]
        assert found(w, f"#{torn['number']}")[0] == torn["number"]
        assert set(found(w, w.order["id"])) == {torn["number"], other["number"]}
        assert found(w, "banner-510") == [torn["number"]]  # the product code of the first line
        assert found(w, "flyer-a5") == [other["number"]]
        assert found(w, "TORN edges") == [torn["number"]]  # case-insensitive, every word required
        assert found(w, "edg") == [torn["number"]]  # a prefix
        assert found(w, "torn purple") == []
        assert found(w, "!!!") == []

    def test_messages_and_notes_are_indexed_in_their_transaction(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        ticket = w.ticket()
        path = f"/staff/tickets/{ticket['number']}/messages"
        assert client.post(path, json={"body": "Courier Zebrafish lost it"}, headers=w.staff.headers).is_success
        assert found(w, "zebrafish") == [ticket["number"]]
        note = {"body": "Internal: ask warehouse Quokka", "internal": True}
        assert client.post(path, json=note, headers=w.staff.headers).is_success
        assert found(w, "quokka") == [ticket["number"]]
        reply = client.post(
            f"/tickets/{ticket['id']}/messages", json={"body": "Pelican photos attached"}, headers=w.reseller.headers
        )
        assert reply.is_success
        moved = w.move(ticket["number"], "holding", message="Please send an Axolotl picture")
        assert moved.status_code == 200, moved.text
        assert found(w, "pelican") == found(w, "axolotl") == [ticket["number"]]

    def test_exact_hits_come_first_then_the_usual_order(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        mentions = [w.flyer_ticket(reason) for reason in ("color", "dimensions", "other")]
        for ticket in mentions:
            body = {"body": "see order order-special and ticket special"}
            assert client.post(
                f"/staff/tickets/{ticket['number']}/messages", json=body, headers=w.staff.headers
            ).is_success
        special = w.flyer_ticket("dirty")
        # Filed last, so newest first it would come first anyway: compare with a ticket named exactly.
        named = w.ticket(id="special", description="nothing to see")
        numbers = found(w, "special")
        assert numbers[0] == named["number"]
        assert numbers[1:] == sorted({t["number"] for t in mentions}, reverse=True)
        assert special["number"] not in numbers

    def test_filters_and_pages_each_ticket_once(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        smudged = [w.flyer_ticket(reason) for reason in ("color", "dirty", "dimensions", "print-quality", "other")]
        for ticket in smudged:
            note = {"body": f"smudge on ticket {ticket['id']}", "internal": True}
            assert client.post(
                f"/staff/tickets/{ticket['number']}/messages", json=note, headers=w.staff.headers
            ).is_success
        named = w.ticket(id="smudge", description="named after the word")
        assert found(w, "smudge", reason="dirty") == [smudged[1]["number"]]
        pages: list[list[int]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"q": "smudge", "limit": 2, "sort": "waiting"}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/staff/tickets", params=params, headers=w.staff.headers).json()
            pages.append([t["number"] for t in page["tickets"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        # The exact hit first, then the others oldest waiting first, each once, two to a page.
        assert [n for p in pages for n in p] == [named["number"]] + [t["number"] for t in smudged]
        assert all(len(p) == 2 for p in pages)

    def test_other_accounts_tickets_are_found_too(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        other = new_reseller(db)
        theirs = new_ticket(client, other, new_order(client, other), description="Grommets missing")
        assert found(w, "grommets") == [theirs["number"]]
        assert found(w, "grommets", account=str(w.reseller.id)) == []

    def test_invalid_q_is_reported_with_the_other_mistakes(self, client: httpx.Client, db: Database) -> None:
        w = world(client, db)
        response = client.get("/staff/tickets", params={"q": "x" * 201, "limit": 0}, headers=w.staff.headers)
        assert response.status_code == 422
        assert [(e["loc"], e["code"]) for e in response.json()["errors"]] == [
            ("limit", "out_of_range"),
            ("q", "too_long"),
        ]
        control = client.get("/staff/tickets", params={"q": "a\x01b"}, headers=w.staff.headers)
        assert control.status_code == 422
        assert control.json()["errors"][0]["code"] == "invalid_text"


def test_the_migration_backfills_existing_tickets(client: httpx.Client, db: Database) -> None:
    """Down to the revision before the index, a ticket written then, and up again: the backfill finds it."""
    from alembic import command
    from alembic.script import ScriptDirectory

    w = world(client, db)
    ticket = w.ticket(description="Backfilled walrus")
    assert client.post(
        f"/staff/tickets/{ticket['number']}/messages", json={"body": "a narwhal note"}, headers=w.staff.headers
    ).is_success
    config = alembic_config(db.url)
    before = ScriptDirectory.from_config(config).get_revision(SEARCH_REVISION).down_revision
    assert isinstance(before, str)
    command.downgrade(config, before)
    with db.engine.connect() as connection:
        tables = sa.inspect(connection).get_table_names()
    assert "ticket_search" not in tables
    command.upgrade(config, "head")
    assert found(w, "walrus narwhal") == [ticket["number"]]
    assert found(w, "banner") == [ticket["number"]]


def _search_rows(db: Database) -> dict[int, tuple[str, ...]]:
    query = (
        "SELECT rowid, refs, body FROM ticket_search"
        if db.engine.dialect.name == "sqlite"
        # Word positions follow the order the parts were appended in; the words and their weights are the row.
        else "SELECT ticket_id, strip(document)::text, (SELECT string_agg(DISTINCT u.lexeme, ' ') FROM "
        "unnest(document) u WHERE 'A' = ANY(u.weights)) FROM ticket_search"
    )
    with db.engine.connect() as connection:
        return {row[0]: tuple(row[1:]) for row in connection.exec_driver_sql(query)}


def test_the_triggers_write_the_row_the_backfill_builds(client: httpx.Client, db: Database) -> None:
    """A ticket of two lines (its row written with the first line, appended for the second) and a message: the
    row equals the one the migration's backfill makes from the tables, and either line's code finds it."""
    from alembic import command
    from alembic.script import ScriptDirectory

    w = world(client, db)
    photo = [{"uri": "https://93.184.215.14/photos/77-1.jpg"}]
    lines = [{"id": product["id"], "amount": 1, "files": photo} for product in w.order["products"][:2]]
    ticket = w.ticket(description="Two-line walrus", products=lines)
    one_line = w.flyer_ticket("color")
    assert client.post(
        f"/staff/tickets/{ticket['number']}/messages", json={"body": "a narwhal note"}, headers=w.staff.headers
    ).is_success
    for product in w.order["products"][:2]:
        if product.get("code"):
            assert ticket["number"] in found(w, product["code"])
    by_triggers = _search_rows(db)
    config = alembic_config(db.url)
    before = ScriptDirectory.from_config(config).get_revision(SEARCH_REVISION).down_revision
    assert isinstance(before, str)
    command.downgrade(config, before)
    command.upgrade(config, "head")
    backfilled = _search_rows(db)
    assert by_triggers[ticket["number"]] == backfilled[ticket["number"]]
    assert by_triggers[one_line["number"]] == backfilled[one_line["number"]]


def test_tickets_sharing_a_group_commit_are_indexed_together(client: httpx.Client, db: Database) -> None:
    """Units of one group commit (SQLite) or transactions side by side (PostgreSQL): a two-line ticket, a
    unit that wrote a ticket and was rolled back (the second of two drafts under one id), and a one-line
    ticket. The two filed are found, with the rows the backfill builds from the tables; the other is not."""
    from alembic import command
    from alembic.script import ScriptDirectory

    w = world(client, db)
    actor = Actor(ActorType.RESELLER, w.reseller.id, w.reseller.name)
    photo = [{"uri": "https://93.184.215.14/photos/78-1.jpg"}]
    first, second = ({"id": product["id"], "amount": 1, "files": photo} for product in w.order["products"][:2])

    async def file_together() -> tuple[Any, ...]:
        async def draft(**overrides: Any) -> Any:
            return await draft_ticket(ticket_body(w.order, **overrides), allow_private_urls=False)

        two_lines = await draft(description="Batched wombat", products=[first, second])
        lost = [
            await draft(id="same-twice", description="Lost lemur", reason="other"),
            await draft(id="same-twice", reason="dimensions", products=[second]),
        ]
        one_line = await draft(description="Batched wombat too", reason="color", products=[second])
        commits = db.group.commits if db.group is not None else 0
        results = await asyncio.gather(
            db.run_write(file_ticket, actor, two_lines),
            db.run_write(file_tickets, actor, lost),
            db.run_write(file_ticket, actor, one_line),
            return_exceptions=True,
        )
        if db.group is not None:
            assert db.group.commits == commits + 1, "the three units shared one commit"
        return results

    two_lines, lost, one_line = asyncio.run(file_together())
    assert isinstance(lost, sa.exc.DBAPIError | sqlite3.IntegrityError | psycopg.IntegrityError), lost
    numbers = [two_lines.number, one_line.number]
    assert found(w, "batched wombat") == sorted(numbers, reverse=True)
    assert found(w, "lemur") == []
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM ticket_search_queue").scalar() == 0
    by_intake = _search_rows(db)
    config = alembic_config(db.url)
    before = ScriptDirectory.from_config(config).get_revision(SEARCH_REVISION).down_revision
    assert isinstance(before, str)
    command.downgrade(config, before)
    command.upgrade(config, "head")
    backfilled = _search_rows(db)
    assert [by_intake[n] for n in numbers] == [backfilled[n] for n in numbers]
