"""The guide's rules for a ticket that need more than one field, or the order it is about.

They work on the body as it was sent, defensively, so that they can report alongside type errors
elsewhere in the same body: a client sees every mistake at once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .catalogue import Reason
from .codes import Code
from .problems import Problem


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One product line of an order, with how many of its items tickets already claim."""

    ref: int | str
    amount: int
    claimed: int
    line_id: int = 0  # the stored line's id and product code, for the service; rules do not use them
    code: str | None = None

    @property
    def claimable(self) -> int:
        return max(0, self.amount - self.claimed)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    customer_email: str | None
    lines: Mapping[str, OrderLine]  # by the product id's string form


def _ref(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return str(value)


def _amount(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


def _reason(value: Any) -> Reason | None:
    try:
        return Reason(value) if isinstance(value, str) else None
    except ValueError:
        return None


def named_products(body: Mapping[str, Any]) -> set[str]:
    """The product ids (string form) a body's product lines name, as far as they are readable."""
    lines = body.get("products")
    if not isinstance(lines, list):
        return set()
    return {key for line in lines if isinstance(line, Mapping) and (key := _ref(line.get("id"))) is not None}


def product_line_problems(
    body: Mapping[str, Any], order: OrderFacts | None, *, uploaded: Collection[int] = ()
) -> list[Problem]:
    """Files for the reasons that need them, each product once, on the order, within its amount.

    ``uploaded`` holds the indexes of the lines that carry files uploaded with the ticket (the portal's
    form) rather than listed in the body: those count as the line's files."""
    lines = body.get("products")
    if not isinstance(lines, list):
        return []
    reason = _reason(body.get("reason"))
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if not isinstance(line, Mapping):
            continue
        where = f"products.{index}"
        if reason is not None and reason.needs_files:
            files = line.get("files")
            if (files is None or (isinstance(files, list) and not files)) and index not in uploaded:
                problems.append(
                    Problem(
                        f"{where}.files",
                        Code.FILES_REQUIRED,
                        f"Reason '{reason}' requires at least one file (a photo of the problem) on every product line.",
                    )
                )
        key = _ref(line.get("id"))
        if key is None:
            continue
        if key in seen:
            problems.append(
                Problem(
                    f"{where}.id", Code.DUPLICATE_PRODUCT, f"Product {key} is listed more than once in this ticket."
                )
            )
            continue
        seen.add(key)
        if order is None:
            continue
        order_line = order.lines.get(key)
        if order_line is None:
            problems.append(
                Problem(f"{where}.id", Code.PRODUCT_NOT_IN_ORDER, f"Product {key} is not a product of this order.")
            )
            continue
        amount = _amount(line.get("amount"))
        if amount is not None and amount > order_line.claimable:
            remaining = order_line.claimable
            problems.append(
                Problem(
                    f"{where}.amount",
                    Code.AMOUNT_EXCEEDS_ORDER,
                    f"Only {remaining} of the {order_line.amount} items of product {key} can still be claimed; "
                    f"{amount} were asked.",
                )
            )
    return problems


def contact_problems(body: Mapping[str, Any], order: OrderFacts | None) -> list[Problem]:
    """The guide: give the company's contact, never the end customer's e-mail."""
    contact = body.get("contact_email")
    if order is None or not order.customer_email or not isinstance(contact, str):
        return []
    if contact.strip().casefold() == order.customer_email.casefold():
        return [
            Problem(
                "contact_email",
                Code.CUSTOMER_EMAIL_GIVEN,
                "This is the end customer's e-mail address; give your own company's contact instead.",
            )
        ]
    return []
