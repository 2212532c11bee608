"""The guide's grouping of complaints: "group your complaints on reason, solution and a group of products".

One ticket holds one reason and one solution, so complaints about several lines of an order become one
ticket per (reason, solution): "one item damaged and two items missing" are two tickets. The portal's
report form lets a person pick a reason and a solution per line; this is how those lines become tickets.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Group(Generic[K]):
    """The lines (indexes into the caller's sequence, in its order) that share one key."""

    key: K
    lines: tuple[int, ...]


def group_lines(keys: Sequence[K]) -> list[Group[K]]:
    """One group per distinct key (a line's (reason, solution)), in the order each key first appears, each
    with its lines in their order. Every line is in exactly one group."""
    found: dict[K, list[int]] = {}
    for index, key in enumerate(keys):
        found.setdefault(key, []).append(index)
    return [Group(key, tuple(lines)) for key, lines in found.items()]
