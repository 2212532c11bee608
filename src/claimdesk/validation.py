"""Checking a body against its schema: every mistake as a problem, or the parsed model."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .exceptions import ValidationFailed
from .rules.codes import Code
from .rules.problems import Problem, from_validation_error

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], body: Any) -> tuple[M | None, list[Problem]]:
    """The model, or None and the list of problems. A body that is no object is one problem."""
    if not isinstance(body, dict):
        return None, [Problem("body", Code.INVALID_TYPE, "The body must be a JSON object.")]
    try:
        return model.model_validate(body), []
    except ValidationError as exc:
        return None, from_validation_error(exc, model)


def parse_or_raise(model: type[M], body: Any) -> M:
    parsed, problems = parse(model, body)
    if parsed is None:
        raise ValidationFailed(problems)
    return parsed


MAX_PAGE = 200


def page_size(value: str | None, problems: list[Problem], *, default: int = 50) -> int:
    """The ``limit`` query parameter of a list: 1 to 200; a mistake is added to ``problems``."""
    if value is None:
        return default
    text = value.strip()
    if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit()):
        problems.append(Problem("limit", Code.INVALID_TYPE, f"limit must be an integer from 1 to {MAX_PAGE}."))
    elif not 1 <= int(text) <= MAX_PAGE:
        problems.append(Problem("limit", Code.OUT_OF_RANGE, f"limit must be from 1 to {MAX_PAGE}."))
    else:
        return int(text)
    return default
