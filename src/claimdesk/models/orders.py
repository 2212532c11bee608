from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import EMPTY_ARRAY, Base, BigId, CreatedMixin, IdMixin


class Order(IdMixin, CreatedMixin, Base):
    """A reseller's order. ``id`` is the supplier_order_number; ``external_id`` the reseller's own id."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "external_id", name="uq_orders_account_external"),
        sa.Index("ix_orders_account_reference", "account_id", "reference"),
        sa.Index("ix_orders_external_id", "external_id"),  # the staff console's search for an order id
        sa.Index("ix_orders_created_at", "created_at"),  # the dashboard's complaint rates over a range
    )

    account_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("accounts.id"))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    reference: Mapped[str | None] = mapped_column(sa.String(500), default=None)
    customer_email: Mapped[str | None] = mapped_column(sa.String(254), default=None)
    callback_urls: Mapped[list[Any]] = mapped_column(server_default=EMPTY_ARRAY)

    # Not loaded with the order: tickets need only the lines they name (see orders.service.order_facts).
    products: Mapped[list[OrderProduct]] = relationship(back_populates="order", order_by="OrderProduct.position")


class OrderProduct(IdMixin, Base):
    """One product line of an order. ``key`` is the product id's string form, by which tickets match it."""

    __tablename__ = "order_products"
    __table_args__ = (sa.UniqueConstraint("order_id", "key", name="uq_order_products_order_key"),)

    order_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("orders.id", ondelete="CASCADE"))
    position: Mapped[int]
    key: Mapped[str] = mapped_column(sa.String(64))
    ref_is_int: Mapped[bool]  # shown as registered: 17 stays a number, "17" a string
    code: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    amount: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="products")

    @property
    def ref(self) -> int | str:
        return int(self.key) if self.ref_is_int else self.key
