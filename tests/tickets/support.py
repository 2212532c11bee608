"""What several intake test modules share: the contract's reasons and counting stored rows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from claimdesk.db import Database

# Straight from the contract, not from the code, so that a reason dropped from the code fails the tests.
FILE_REASONS = ["damaged", "cutting-milling-inadequate", "color", "dimensions", "other", "print-quality", "dirty"]
OTHER_REASONS = [
    "commodity-item-missing",
    "packing-slip-missing",
    "delayed",
    "wrong-quantity",
    "wrong-product",
    "missing",
    "not-received",
]
PHOTO = {"uri": "https://93.184.215.14/photos/77-1.jpg"}


def count(db: Database, model: type[Any]) -> int:
    """Rows of ``model`` in the database."""
    with db.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
