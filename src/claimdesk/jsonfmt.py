"""JSON in and out, fast: orjson where it can, the standard library where orjson refuses.

orjson refuses what the service otherwise keeps (a lone surrogate in text, an integer beyond 64 bits);
those go through ``json``, which writes the same compact form. Reading, orjson also refuses what ``json``
reads its own way (NaN, 1e400, a BOM, UTF-16): those bodies, too, are read by ``json``, so that every body
means what it meant before orjson. orjson reads an integer beyond 64 bits as a float, without a word, so a
body with a run of 19 digits anywhere goes to ``json`` too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import orjson
from starlette.responses import JSONResponse

# 18 digits are always below 2**63; from 19 on, an integer may not fit orjson's 64 bits. A run of 19 digits is
# looked for as a run of 19 zeros in the body with every digit made "0" and every other byte a space: the
# regular expression [0-9]{19} found the same runs, at 45,000 instructions for a ticket's body (sre tries a
# match at every byte; the translation is one pass).
_DIGITS_AS_ZEROS = bytes(b"0"[0] if b"0"[0] <= byte <= b"9"[0] else b" "[0] for byte in range(256))
_LONG_NUMBER = b"0" * 19


def has_long_number(raw: bytes) -> bool:
    """Whether ``raw`` holds a run of 19 or more ASCII digits."""
    return _LONG_NUMBER in raw.translate(_DIGITS_AS_ZEROS)


def parse_json(raw: bytes, *, parse_constant: Callable[[str], Any]) -> Any:
    """``json.loads(raw, parse_constant=...)``, at a quarter of the cost for the bodies orjson reads."""
    if not has_long_number(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw, parse_constant=parse_constant)


def json_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass"
        )


def _finite(value: Any) -> Any:
    """``value`` with every float that is not finite as None: orjson writes those as null, and so must the
    fallback (``json`` would refuse them, answering 500 to a value with, say, a huge integer and an inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


def json_text(value: Any) -> str:
    return json_bytes(value).decode("utf-8", "surrogatepass")


class FastJSONResponse(JSONResponse):
    """A JSONResponse rendered by orjson (its answers are a tenth of the cost of the standard library's)."""

    def render(self, content: Any) -> bytes:
        return json_bytes(content)
