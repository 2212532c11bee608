"""Field types for request bodies, each refusing bad input with the contract's code."""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, StrictInt, StrictStr, WithJsonSchema
from pydantic_core import PydanticCustomError

from .codes import Code

# C0 and C1 control characters; tab, line feed and carriage return are allowed where text may span lines.
_CONTROL_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_CONTROL_CHARS_SINGLE_LINE = r"\x00-\x1f\x7f-\x9f"
_CONTROL = re.compile(f"[{_CONTROL_CHARS}]")
_CONTROL_SINGLE_LINE = re.compile(f"[{_CONTROL_CHARS_SINGLE_LINE}]")
# The same rule for the OpenAPI document (JSON Schema patterns read these escapes alike).
TEXT_PATTERN = f"^[^{_CONTROL_CHARS}]*$"
LINE_PATTERN = f"^[^{_CONTROL_CHARS_SINGLE_LINE}]*$"
# The longest search text (the staff list's q).
MAX_SEARCH = 200

# Python's \s is exactly str.isspace, every Unicode space included.
_SPACE = re.compile(r"\s")

MAX_INT = 2**63 - 1


def check_text(value: str, *, min_length: int, max_length: int, multiline: bool) -> str:
    # Printable ASCII (most text an integration sends) has no lone surrogate and no control character: of
    # ASCII, str.isprintable refuses exactly \x00-\x1f and \x7f. Two string scans instead of an encoded copy
    # and a regular expression search (a fifth of the cost; this runs for every text field of a ticket).
    if not (value.isascii() and value.isprintable()):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PydanticCustomError(Code.INVALID_TEXT, "Text is not valid Unicode (a lone surrogate)") from None
        pattern = _CONTROL if multiline else _CONTROL_SINGLE_LINE
        if pattern.search(value):
            raise PydanticCustomError(Code.INVALID_TEXT, "Text contains NUL or other control characters")
    if len(value) < min_length:
        if not value:
            raise PydanticCustomError(Code.TOO_SHORT, "Must not be empty")
        raise PydanticCustomError(Code.TOO_SHORT, "Must be at least {min} characters", {"min": min_length})
    if len(value) > max_length:
        raise PydanticCustomError(Code.TOO_LONG, "Must be at most {max} characters", {"max": max_length})
    return value


def ascii_int(text: str) -> int | None:
    """``text`` as a non-negative integer, if it is ASCII digits only: ``str.isdigit`` also takes "²",
    which ``int`` refuses."""
    return int(text) if text.isascii() and text.isdigit() else None


def as_id(text: str) -> int | None:
    """``text`` as a database id (a number the service gave out), or None: at most 18 digits, so that it
    always fits a BIGINT."""
    return ascii_int(text) if len(text) <= 18 else None


def is_clean_text(value: str) -> bool:
    """No NUL or other control characters and valid Unicode: safe to look up (PostgreSQL refuses NUL in
    text, SQLite lone surrogates), so that such input is answered as a mistake, never a 500."""
    try:
        check_text(value, min_length=0, max_length=len(value), multiline=False)
    except PydanticCustomError:
        return False
    return True


def Text(max_length: int, *, min_length: int = 1, multiline: bool = False) -> Any:  # noqa: N802 (a type factory reads like a type)
    """A string of ``min_length`` to ``max_length`` characters, free of control characters."""

    def check(value: str) -> str:
        return check_text(value, min_length=min_length, max_length=max_length, multiline=multiline)

    schema: dict[str, Any] = {
        "type": "string",
        "minLength": min_length,
        "maxLength": max_length,
        "pattern": TEXT_PATTERN if multiline else LINE_PATTERN,
    }
    return Annotated[StrictStr, AfterValidator(check), WithJsonSchema(schema)]


@functools.lru_cache(maxsize=4096)
def _normalized_email(value: str) -> tuple[str | None, str | None]:
    """(normalized, None) or (None, why not). Cached: an integration sends the same few contacts again and
    again, and email-validator's checks were a tenth of the cost of filing a ticket."""
    try:
        return validate_email(value, check_deliverability=False).normalized, None
    except EmailNotValidError as exc:
        return None, str(exc)


def _check_email(value: str) -> str:
    check_text(value, min_length=3, max_length=254, multiline=False)
    normalized, error = _normalized_email(value)
    if normalized is None:
        raise PydanticCustomError(Code.INVALID_EMAIL, "Not a valid e-mail address: {reason}", {"reason": error})
    return normalized


Email = Annotated[
    StrictStr, AfterValidator(_check_email), WithJsonSchema({"type": "string", "format": "email", "maxLength": 254})
]

MAX_URI_LENGTH = 2048


def _check_uri(value: str) -> str:
    if len(value) > MAX_URI_LENGTH:
        raise PydanticCustomError(Code.TOO_LONG, "Must be at most {max} characters", {"max": MAX_URI_LENGTH})
    check_text(value, min_length=1, max_length=MAX_URI_LENGTH, multiline=False)
    # Past check_text, the only ASCII space left is " " (the others are control characters).
    if (" " in value) if value.isascii() else _SPACE.search(value):
        raise PydanticCustomError(Code.INVALID_URI, "A URL must not contain spaces")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise PydanticCustomError(Code.INVALID_URI, "Not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise PydanticCustomError(
            Code.INVALID_URI, "Must be a full http or https URL, like https://example.com/photo.jpg"
        )
    if port == 0:
        raise PydanticCustomError(Code.INVALID_URI, "Not a valid URL port")
    return value


HttpUri = Annotated[
    StrictStr,
    AfterValidator(_check_uri),
    WithJsonSchema({"type": "string", "format": "iri", "maxLength": MAX_URI_LENGTH, "pattern": "^https?://"}),
]


def _check_product_ref(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError(Code.INVALID_TYPE, "A product id must be an integer or a string")
    if isinstance(value, int):
        if not -MAX_INT <= value <= MAX_INT:
            raise PydanticCustomError(
                Code.OUT_OF_RANGE, "A product id must be between {min} and {max}", {"min": -MAX_INT, "max": MAX_INT}
            )
        return value
    return check_text(value, min_length=1, max_length=64, multiline=False)


ProductRef = Annotated[
    int | str,
    BeforeValidator(_check_product_ref),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "integer", "minimum": -MAX_INT, "maximum": MAX_INT},
                {"type": "string", "minLength": 1, "maxLength": 64, "pattern": LINE_PATTERN},
            ]
        }
    ),
]


def product_key(ref: int | str) -> str:
    """Product ids are matched by their string form: ``17`` and ``"17"`` name the same product."""
    return str(ref)


def _check_lookup(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError(Code.INVALID_TYPE, "Must be a string or an integer")
    if isinstance(value, int):
        return value
    return check_text(value, min_length=1, max_length=500, multiline=False)


LookupRef = Annotated[
    int | str,
    BeforeValidator(_check_lookup),
    WithJsonSchema(
        {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 500, "pattern": LINE_PATTERN}, {"type": "integer"}]}
    ),
]
"""A value to look an order up by, kept as it was sent (a lookup that finds nothing echoes it)."""


def _check_amount(value: int) -> int:
    if not 1 <= value <= 2_147_483_647:
        raise PydanticCustomError(Code.OUT_OF_RANGE, "Must be between 1 and 2147483647")
    return value


PositiveAmount = Annotated[
    StrictInt,
    AfterValidator(_check_amount),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 2_147_483_647}),
]


def _check_order_ref(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError(
            Code.INVALID_TYPE, "An order id must be a string (a number is taken as its string form)"
        )
    return check_text(str(value), min_length=1, max_length=64, multiline=False)


OrderRef = Annotated[
    str,
    BeforeValidator(_check_order_ref),
    WithJsonSchema(
        {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 64, "pattern": LINE_PATTERN}, {"type": "integer"}]}
    ),
]
