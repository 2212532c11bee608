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

from .codes import Code


@dataclass(frozen=True, slots=True)
class Problem:
    loc: str
    code: Code
    message: str

    def __post_init__(self) -> None:
        # mypy holds every caller to the registry; this holds code built at run time (such as pydantic's types).
        if not isinstance(self.code, Code):
            raise TypeError(f"Problem.code must be a rules.codes.Code, not {self.code!r}")

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "code": self.code.value, "message": self.message}


def dotted(loc: Iterable[str | int]) -> str:
    return ".".join(str(part) for part in loc)


# pydantic's own error types, mapped to the contract's field codes.
_CODES: dict[str, Code] = {
    "missing": Code.REQUIRED,
    "extra_forbidden": Code.UNKNOWN_FIELD,
    "string_too_short": Code.TOO_SHORT,
    "string_too_long": Code.TOO_LONG,
    "too_short": Code.TOO_FEW,
    "too_long": Code.TOO_MANY,
    "greater_than_equal": Code.OUT_OF_RANGE,
    "greater_than": Code.OUT_OF_RANGE,
    "less_than_equal": Code.OUT_OF_RANGE,
    "less_than": Code.OUT_OF_RANGE,
    "enum": Code.INVALID_CHOICE,
    "literal_error": Code.INVALID_CHOICE,
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


# Our validators raise PydanticCustomError with a Code as its type (any code of the registry).
_OWN: dict[str, Code] = {code.value: code for code in Code}


def from_validation_error(error: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Turn pydantic's errors into the contract's problems, one per mistake, in body order."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        where = dotted(loc) or "body"
        # Our own validators raise PydanticCustomError with the contract's code as its type.
        # pydantic's own list-length errors are also named too_short/too_long; they carry actual_length.
        own = kind in _OWN and "actual_length" not in item.get("ctx", {})
        code = _OWN[kind] if own else _CODES.get(kind, Code.INVALID_TYPE)
        if code is Code.INVALID_CHOICE and not isinstance(item.get("input"), str):
            code = Code.INVALID_TYPE  # null, a number or a list where a choice was expected is the wrong type
        if code is Code.UNKNOWN_FIELD:
            name = str(loc[-1])
            nearest = suggest(name, known_fields(model, loc[:-1]))
            message = f"Unknown field '{name}'" + (f"; did you mean '{nearest}'?" if nearest else ".")
        elif code is Code.REQUIRED:
            message = f"{where} is required."
        elif code is Code.INVALID_TYPE and not own:
            expected = item["msg"].removeprefix("Input should be ").rstrip(".")
            message = f"{where} should be {expected}, not {_describe(item.get('input'))}."
        else:
            text = item["msg"]
            message = f"{where}: {text[0].lower()}{text[1:]}".rstrip(".") + "."
        problems.append(Problem(where, code, message))
    return problems
