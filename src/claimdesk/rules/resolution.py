"""How a solved ticket ends: its outcome, a note, and how many items of each product line were granted.

Pure rules: the service hands in the ticket's product lines and the grants as sent, and gets back every
problem at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .codes import Code
from .problems import Problem
from .statuses import Outcome


@dataclass(frozen=True, slots=True)
class Grant:
    """``granted`` items of the ticket's product line ``ref`` (an id as the reseller sent it)."""

    ref: int | str
    granted: int


def grant_problems(
    outcome: Outcome, grants: Sequence[Grant], claimed: Mapping[str, int], *, loc: str = "resolution.products"
) -> list[Problem]:
    """Each granted line is one of the ticket's, listed once, granting at most what it claims.

    ``claimed`` maps each product line of the ticket (by the product id's string form) to its claimed
    amount. A rejected ticket grants nothing: its items go back to the order line.
    """
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, grant in enumerate(grants):
        where = f"{loc}.{index}"
        key = str(grant.ref)
        if key in seen:
            problems.append(
                Problem(
                    f"{where}.id", Code.DUPLICATE_PRODUCT, f"Product {key} is listed more than once in the resolution."
                )
            )
            continue
        seen.add(key)
        amount = claimed.get(key)
        if amount is None:
            problems.append(
                Problem(
                    f"{where}.id", Code.PRODUCT_NOT_IN_TICKET, f"Product {key} is not a product line of this ticket."
                )
            )
            continue
        if outcome.releases_items and grant.granted > 0:
            problems.append(
                Problem(
                    f"{where}.granted",
                    Code.GRANTED_WHEN_REJECTED,
                    f"A rejected ticket grants nothing; product {key} cannot be granted {grant.granted} items.",
                )
            )
        elif grant.granted > amount:
            problems.append(
                Problem(
                    f"{where}.granted",
                    Code.GRANTED_EXCEEDS_CLAIMED,
                    f"Product {key} can be granted at most the {amount} items the ticket claims, not {grant.granted}.",
                )
            )
    return problems


def granted_amounts(outcome: Outcome, grants: Sequence[Grant], claimed: Mapping[str, int]) -> dict[str, int | None]:
    """What each product line records as granted: 0 on a rejection, the grant where given, else unknown."""
    if outcome.releases_items:
        return dict.fromkeys(claimed, 0)
    given = {str(g.ref): g.granted for g in grants}
    return {key: given.get(key) for key in claimed}
