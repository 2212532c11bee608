"""The migration creates users and web_sessions exactly as the models describe them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from claimdesk.db import Database
from claimdesk.models import Base

TABLES = {"users", "web_sessions"}


def _tables_of(diff: object) -> set[str]:
    """The table names a diff of compare_metadata touches (its shape varies: tuples, nested lists, objects)."""
    if isinstance(diff, str):
        return {diff}
    if isinstance(diff, (list, tuple)):
        return set().union(*(_tables_of(part) for part in diff)) if diff else set()
    table = getattr(diff, "table", None)
    names = {getattr(table, "name", None), getattr(diff, "name", None)}
    return {n for n in names if isinstance(n, str)}


def test_migration_matches_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    ours = [d for d in diffs if _tables_of(d) & TABLES]
    assert ours == []
