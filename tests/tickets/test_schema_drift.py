"""The intake fast path cannot drift from the models: its statements, the migrations and what it stores.

POST /tickets writes on the DBAPI cursor, beside the ORM. These tests fail when the two would store
different rows: a column the migrations do not create as the models declare it (defaults included), a
fast-path INSERT that leaves out a column only Python would fill in, or a ticket filed through the API that
differs, column by column, from the same ticket written by the ORM.
"""

from __future__ import annotations

import re
from typing import Any, cast

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.sql.schema import CallableColumnDefault

from claimdesk.accounts.service import Actor, ActorType
from claimdesk.db import Database
from claimdesk.events.service import record_event
from claimdesk.migrate import alembic_config, upgrade
from claimdesk.models import Base, HistoryEntry, Order, Ticket, TicketProduct, utcnow
from claimdesk.models import rows as shared
from claimdesk.rawdb import Statement
from claimdesk.rules.events import EventType
from claimdesk.tickets import repository
from claimdesk.tickets.presenter import Audience, ticket_view
from claimdesk.tickets.service import add_evidence_files, body_hash
from tests.factories import Reseller, new_order, new_reseller, ticket_body

_INSERT = re.compile(r"INSERT INTO (\w+) \(([^)]*)\) VALUES")


def named_columns(statement: Statement) -> tuple[str, set[str]]:
    """The table and the columns an INSERT names, read from its text for each driver (which must agree)."""
    spelled = []
    for text in (statement.sqlite, statement.postgresql):
        match = _INSERT.match(text)
        assert match is not None, text
        spelled.append((match[1], {name.strip() for name in match[2].split(",")}))
    assert spelled[0] == spelled[1]
    return spelled[0]


def fast_path_tables() -> dict[str, set[str]]:
    return dict(named_columns(statement) for statement in repository.INSERTS)


def _same_default(
    context: Any,
    inspected_column: Any,
    metadata_column: sa.Column[Any],
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """PostgreSQL shows a JSON default with its cast ('{}'::json), which Alembic would compare by running
    '{}'::json = '{}' (json has no '='). Every other default is Alembic's own comparison (None)."""
    if isinstance(metadata_column.type, sa.JSON) and inspected_default is not None:
        return re.sub(r"::jsonb?$", "", inspected_default) != rendered_metadata_default
    return None


def _modelled(name: str | None, type_: str, _parent: Any) -> bool:
    """The search index (an FTS5 table and its shadow tables on SQLite, a tsvector table on PostgreSQL) is the
    database's own, kept by triggers: no model describes it, and the console's tests check it."""
    return not (type_ in ("table", "index") and (name or "").startswith(("ticket_search", "ix_ticket_search")))


def schema_differences(db: Database, metadata: sa.MetaData) -> list[Any]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "compare_server_default": _same_default, "include_name": _modelled},
        )
        return list(compare_metadata(context, metadata))


class TestMigrations:
    def test_the_migrated_database_is_the_models(self, db: Database) -> None:
        """Alembic's autogenerate comparison, server defaults included, finds nothing to migrate."""
        assert schema_differences(db, Base.metadata) == []

    def test_the_comparison_sees_a_changed_server_default(self, db: Database) -> None:
        """The check above can fail: a default the migrations did not make is found."""
        changed = sa.MetaData(naming_convention=Base.metadata.naming_convention)
        for table in Base.metadata.tables.values():
            table.to_metadata(changed)
        changed.tables["tickets"].c.status.server_default = sa.DefaultClause("pending")
        differences = schema_differences(db, changed)
        assert [d[0][0] for d in differences] == ["modify_default"]
        assert differences[0][0][2:4] == ("tickets", "status")

    def test_the_server_defaults_migration_goes_down_and_up_keeping_the_rows(
        self, client: httpx.Client, db: Database, database_url: str
    ) -> None:
        reseller = new_reseller(db)
        order = new_order(client, reseller)
        filed = client.post("/tickets", json=ticket_body(order), headers=reseller.headers)
        assert filed.status_code == 201, filed.text
        before = stored_rows(db, filed.json()["ticket"]["number"])
        db.dispose()  # SQLite copies the tables it changes: no connection of ours may hold them

        command.downgrade(alembic_config(database_url), "25c6fd1c5bc6")
        # The later migrations' tables are gone too; what remains differs only in its defaults.
        differences = [d for d in schema_differences(db, Base.metadata) if not _of_later_tables(d)]
        assert {d[0][0] for d in differences} == {"modify_default"}
        changed = {(d[0][2], d[0][3]) for d in differences}
        assert ("tickets", "status") in changed
        assert len(changed) == 13  # every constant default is the migration's
        upgrade(database_url)
        assert schema_differences(db, Base.metadata) == []
        assert stored_rows(db, filed.json()["ticket"]["number"]) == before


def _of_later_tables(difference: Any) -> bool:
    """A table, index or column that a later migration adds (the server defaults migration adds none)."""
    return isinstance(difference, tuple) and difference[0] in ("add_table", "add_index", "add_column")


class TestFastPathInserts:
    def test_every_insert_names_each_column_without_any_default(self) -> None:
        """A NOT NULL column with neither a default nor a server default must be written (derived from the
        tables, so a new such column fails here)."""
        for name, named in fast_path_tables().items():
            table = Base.metadata.tables[name]
            required = {
                c.name
                for c in table.c
                if not c.nullable
                and c.default is None
                and c.server_default is None
                and c is not table.autoincrement_column
            }
            assert {"id"}.isdisjoint(required)  # the id is the database's
            assert required <= named, (name, required - named)

    def test_every_python_default_is_a_server_default_or_written_by_the_fast_path(self) -> None:
        """The issue's case: a column whose default only the ORM knows would be NULL (or worse) in every row
        the fast path writes. Each Python default of a fast-path table is therefore named by its INSERT."""
        for name, named in fast_path_tables().items():
            table = Base.metadata.tables[name]
            python_defaults = {c.name for c in table.c if c.default is not None}
            assert python_defaults <= named, (name, python_defaults - named)

    def test_python_defaults_are_only_the_clock(self) -> None:
        """Constant defaults are the database's (server_default), so any writer gets them; only the moment
        a row is written stays Python's, and the fast path writes that itself."""
        for table in Base.metadata.tables.values():
            for column in table.c:
                if column.default is not None:
                    assert isinstance(column.default, CallableColumnDefault), column
                    assert getattr(column.default.arg, "__name__", None) == "utcnow", column

    def test_a_new_column_with_a_python_default_stops_the_fast_path_at_import(self) -> None:
        """Adding a nullable column with a Python default to Ticket: the fast path's INSERT is refused when it
        is built (so every POST /tickets test fails), instead of storing NULL there."""
        table = cast(sa.Table, Ticket.__table__).to_metadata(sa.MetaData())
        table.append_column(sa.Column("priority", sa.String(10), nullable=True, default="normal"))
        with pytest.raises(ValueError, match=r"priority"):
            Statement.insert(table, repository.TICKET_COLUMNS, returning_id=True)
        # Made a server default instead, the database fills it in and the statement stands.
        table.c.priority.default = None
        table.c.priority.server_default = sa.DefaultClause("normal")
        statement = Statement.insert(table, repository.TICKET_COLUMNS, returning_id=True)
        assert statement == repository.INSERT_TICKET

    def test_a_new_not_null_column_without_default_stops_it_too(self) -> None:
        table = cast(sa.Table, HistoryEntry.__table__).to_metadata(sa.MetaData())
        table.append_column(sa.Column("channel", sa.String(10), nullable=False))
        with pytest.raises(ValueError, match=r"channel"):
            Statement.insert(table, shared.columns(shared.HistoryRow))


# --- a ticket through POST /tickets and the same ticket through the ORM ------------------------------

# Columns that differ between two tickets by nature: their ids and references to them, the reseller's
# id and the body's hash, and the moments they were written. Only whether they are set is compared.
_DIFFERENT = {"id", "ticket_id", "ticket_product_id", "ref_id", "external_id", "body_hash"}
_MOMENTS = {"created_at", "updated_at", "waiting_since", "at", "run_at"}
# In the event's snapshot of the ticket (the reseller's view), the same by nature.
_VIEW_DIFFERENT = {"id", "number", "created_at", "updated_at", "at"}


def _comparable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (value is not None) if key in _DIFFERENT | _MOMENTS else _view(value) if key == "ticket" else value
        for key, value in row.items()
    }


def _view(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (v is not None) if k in _VIEW_DIFFERENT else _view(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_view(item) for item in value]
    return value


def stored_rows(db: Database, number: int) -> dict[str, list[dict[str, Any]]]:
    """Every row a ticket wrote, per table, in the order written, made comparable."""
    tables = Base.metadata.tables
    tickets, lines, files = tables["tickets"], tables["ticket_products"], tables["evidence_files"]
    history, events, jobs = tables["ticket_history"], tables["events"], tables["jobs"]
    with db.session() as session:

        def rows(query: sa.Select[Any]) -> list[dict[str, Any]]:
            return [_comparable(dict(row)) for row in session.execute(query).mappings()]

        file_ids = sa.select(files.c.id).where(files.c.ticket_id == number)
        event_ids = sa.select(events.c.id).where(events.c.ticket_id == number)
        return {
            "tickets": rows(sa.select(tickets).where(tickets.c.id == number)),
            "ticket_products": rows(sa.select(lines).where(lines.c.ticket_id == number).order_by(lines.c.id)),
            "evidence_files": rows(sa.select(files).where(files.c.ticket_id == number).order_by(files.c.id)),
            "ticket_history": rows(sa.select(history).where(history.c.ticket_id == number).order_by(history.c.id)),
            "events": rows(sa.select(events).where(events.c.ticket_id == number).order_by(events.c.id)),
            "jobs": rows(
                sa.select(jobs)
                .where(
                    sa.or_(
                        sa.and_(jobs.c.kind == "fetch_file", jobs.c.ref_id.in_(file_ids)),
                        sa.and_(jobs.c.kind == "dispatch_event", jobs.c.ref_id.in_(event_ids)),
                    )
                )
                .order_by(jobs.c.id)
            ),
        }


def file_through_the_orm(db: Database, reseller: Reseller, body: dict[str, Any], order_line_id: int) -> int:
    """The ticket of ``body`` written the way the ORM writes: model objects with their defaults, and the
    ORM's writers of files, history, events and jobs."""
    actor = Actor(ActorType.RESELLER, reseller.id, reseller.name)
    product = body["products"][0]
    with db.transaction() as session:
        order_id = session.scalar(
            sa.select(Order.id).where(Order.account_id == reseller.id, Order.external_id == body["order_id"])
        )
        assert order_id is not None
        ticket = Ticket(
            account_id=reseller.id,
            order_id=order_id,
            external_id=body["id"],
            description=body["description"],
            reason=body["reason"],
            suggested_solution=body["suggested_solution"],
            contact_email=body["contact_email"],
            body_hash=body_hash(body),
        )
        session.add(ticket)
        session.flush()
        line = TicketProduct(ticket_id=ticket.id, order_product_id=order_line_id, position=0, amount=product["amount"])
        session.add(line)
        session.flush()
        add_evidence_files(session, ticket.id, [f["uri"] for f in product["files"]], ticket_product_id=line.id)
        session.add(HistoryEntry(**shared.history_row(ticket.id, "created", ticket.status, actor.stamp, utcnow())))
        session.flush()
        session.refresh(ticket)  # the view reads its lines, files and history from the database
        record_event(session, ticket, EventType.TICKET_CREATED, view=ticket_view(session, ticket, Audience.RESELLER))
        return ticket.id


def test_a_ticket_filed_through_the_api_is_the_ticket_the_orm_writes(client: httpx.Client, db: Database) -> None:
    reseller = new_reseller(db)
    order = new_order(client, reseller)
    files = [{"uri": "https://93.184.215.14/photos/1.jpg"}, {"uri": "https://93.184.215.14/photos/2.jpg"}]
    body = ticket_body(order, products=[{"id": order["products"][0]["id"], "amount": 2, "files": files}])
    before = utcnow()
    response = client.post("/tickets", json=body, headers=reseller.headers)
    assert response.status_code == 201, response.text
    filed = response.json()["ticket"]
    through_api = stored_rows(db, filed["number"])
    with db.session() as session:
        order_line_id = session.scalar(
            sa.select(TicketProduct.order_product_id).where(TicketProduct.ticket_id == filed["number"])
        )
    assert order_line_id is not None

    # The grouping rule would refuse a second unsolved ticket on the line; the ORM writes it regardless.
    orm_body = {**body, "id": f"{body['id']}-orm"}
    through_orm = stored_rows(db, file_through_the_orm(db, reseller, orm_body, order_line_id))

    assert set(through_api) == set(through_orm)
    for table, api_rows in through_api.items():
        assert api_rows, table  # every table is touched, or the comparison says nothing of it
        assert api_rows == through_orm[table], table
    # The fast path's moments are the moment it filed the ticket.
    with db.session() as session:
        ticket = session.get(Ticket, filed["number"])
        assert ticket is not None
        assert ticket.waiting_since is not None
        assert before <= ticket.created_at == ticket.updated_at == ticket.waiting_since <= utcnow()
