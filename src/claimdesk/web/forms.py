"""From the services' problems to a form's errors: the same codes and messages as the API, shown next to
the field they are about and listed in the error summary (GOV.UK pattern)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from claimdesk.rules.problems import Problem

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def field_id(loc: str) -> str:
    """The HTML id of the control for a problem's ``loc``: ``products.0.amount`` -> ``products-0-amount``."""
    return _UNSAFE.sub("-", loc).strip("-") or "form"


def form_errors(problems: Sequence[Problem], ids: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """``[{"field", "code", "message"}]`` for ``ui.error_summary`` and the fields, in the problems' order.
    ``ids`` maps a ``loc`` to the id of its control where ``field_id`` would not name it."""
    return [
        {"field": (ids or {}).get(p.loc) or field_id(p.loc), "code": p.code, "message": p.message} for p in problems
    ]


def errors_by_field(errors: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The first message for each field id, for ``ui.field(..., error=errors_by_field(e).get(id))``."""
    found: dict[str, str] = {}
    for error in errors:
        found.setdefault(error["field"], error["message"])
    return found
