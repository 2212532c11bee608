"""A problem is one mistake in a request: where (``loc``), what (``code``) and a sentence for people.

Validation collects every problem in a body and the service raises one error carrying them all, so a
client sees each mistake in one answer.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True, slots=True)
class Problem:
    loc: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "code": self.code, "message": self.message}


def dotted(loc: Iterable[str | int]) -> str:
    return ".".join(str(part) for part in loc)


# pydantic's own error types, mapped to the contract's field codes.
_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "too_short": "too_few",
    "too_long": "too_many",
    "greater_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "enum": "invalid_choice",
    "literal_error": "invalid_choice",
}


def _sub_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, directly or as list items or an optional."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _sub_model(typing.get_args(annotation)[0])
    if origin in (list, tuple, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _sub_model(arg)
            if found is not None:
                return found
    return None


def known_fields(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The field names allowed at ``loc`` (the path of the parent object) in ``model``."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        current = _sub_model(field.annotation) if field is not None else None
    return list(current.model_fields) if current is not None else []


def suggest(name: str, choices: Sequence[str]) -> str | None:
    """The nearest known name, where one is close (``solution`` -> ``suggested_solution``)."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return close[0]
    for choice in choices:  # a fragment of a longer name: "solution" in "suggested_solution"
        if len(name) >= 3 and (name in choice or choice in name):
            return choice
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number with a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def from_validation_error(error: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Turn pydantic's errors into the contract's problems, one per mistake, in body order."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        where = dotted(loc) or "body"
        # Our own validators raise PydanticCustomError with the contract's code as its type.
        # pydantic's own list-length errors are also named too_short/too_long; they carry actual_length.
        own = kind in FIELD_CODES and "actual_length" not in item.get("ctx", {})
        code = kind if own else _CODES.get(kind, "invalid_type")
        if code == "invalid_choice" and not isinstance(item.get("input"), str):
            code = "invalid_type"  # null, a number or a list where a choice was expected is the wrong type
        if code == "unknown_field":
            name = str(loc[-1])
            nearest = suggest(name, known_fields(model, loc[:-1]))
            message = f"Unknown field '{name}'" + (f"; did you mean '{nearest}'?" if nearest else ".")
        elif code == "required":
            message = f"{where} is required."
        elif code == "invalid_type" and not own:
            expected = item["msg"].removeprefix("Input should be ").rstrip(".")
            message = f"{where} should be {expected}, not {_describe(item.get('input'))}."
        else:
            text = item["msg"]
            message = f"{where}: {text[0].lower()}{text[1:]}".rstrip(".") + "."
        problems.append(Problem(where, code, message))
    return problems


# The contract's field codes that validators may raise by name.
FIELD_CODES = frozenset(
    {
        "required",
        "invalid_type",
        "invalid_choice",
        "invalid_email",
        "invalid_uri",
        "url_not_allowed",
        "too_long",
        "too_short",
        "invalid_text",
        "too_many",
        "too_few",
        "out_of_range",
        "unknown_field",
    }
)
