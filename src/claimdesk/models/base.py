"""The declarative base and the column types every table shares.

A column's constant default is the database's (``server_default``), not Python's: the ORM and the
hand-written INSERTs of the intake fast path (``claimdesk.rawdb``), which leave such columns out, then
store the same value. Only values that depend on the moment (``utcnow``) are Python defaults, and the fast
path writes those itself (``rawdb.Statement.insert`` refuses a statement that would leave one out).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# BIGINT on PostgreSQL; on SQLite an INTEGER PRIMARY KEY is the rowid, which only that spelling gets.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# The empty JSON object and array as column defaults, in SQL both databases read as JSON.
EMPTY_OBJECT = sa.text("'{}'")
EMPTY_ARRAY = sa.text("'[]'")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Stores UTC without a zone (SQLite keeps none) and always hands back an aware UTC datetime."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:  # noqa: ARG002 (SQLAlchemy's signature)
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:  # noqa: ARG002 (SQLAlchemy's signature)
        return value.replace(tzinfo=dt.UTC) if value is not None else None


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {dt.datetime: UTCDateTime(), dict[str, Any]: sa.JSON(), list[Any]: sa.JSON()}


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


class CreatedMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
