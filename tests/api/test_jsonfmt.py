"""Bodies are read by orjson when it can: it must never read a body differently from ``json``.

``parse_json`` hands orjson's refusals to ``json``; these tests compare the two on any JSON text, including
what only one of them accepts (lone surrogates, huge numbers, NaN, a byte-order mark, UTF-16).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claimdesk.jsonfmt import has_long_number, json_bytes, parse_json


def _reject(name: str) -> Any:
    raise ValueError(name)


def outcome(read: Any, raw: bytes) -> tuple[str, Any]:
    """What reading ``raw`` gives: the value (as canonical text, so that NaN-free floats compare exactly), or
    the kind of refusal."""
    try:
        value = read(raw)
    except (ValueError, RecursionError) as exc:
        return ("refused", type(exc).__mro__[-3].__name__)
    return ("read", json.dumps(value, sort_keys=False, ensure_ascii=True))


def by_json(raw: bytes) -> Any:
    return json.loads(raw, parse_constant=_reject)


def by_parse_json(raw: bytes) -> Any:
    return parse_json(raw, parse_constant=_reject)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()  # lone surrogates included
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


@given(values, st.booleans())
def test_any_json_text_reads_as_json_reads_it(value: Any, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert outcome(by_parse_json, raw) == outcome(by_json, raw)


@given(st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][-+]?[0-9]{1,3})?", fullmatch=True))
def test_any_number_as_written_reads_as_json_reads_it(number: str) -> None:
    raw = f'{{"amount": {number}}}'.encode()
    assert outcome(by_parse_json, raw) == outcome(by_json, raw)


@given(st.binary(max_size=80) | st.from_regex(rb"[ -~]{0,5}([0-9]{15,22}[ -~]{0,3})*", fullmatch=True))
def test_a_long_number_is_a_run_of_19_digits(raw: bytes) -> None:
    assert has_long_number(raw) == (re.search(rb"[0-9]{19}", raw) is not None)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "a": 2}',  # the last of duplicate keys wins
        b"1e400",  # json reads infinity; validation refuses it later
        b"[NaN]",
        b'{"x": Infinity}',
        b"\xef\xbb\xbf{}",  # a byte-order mark
        '{"a": "\u00e9"}'.encode("utf-16"),
        b'"\xed\xa0\x80"',  # a surrogate encoded in UTF-8
        b'"\\ud800"',
        b"123456789012345678901234567890",
        b"[" * 5000 + b"]" * 5000,
        b"{,}",
        b"",
    ],
)
def test_the_bodies_only_one_of_them_reads(raw: bytes) -> None:
    assert outcome(by_parse_json, raw) == outcome(by_json, raw)


@given(values)
def test_answers_written_by_orjson_read_back_as_json_wrote_them(value: Any) -> None:
    # Answers are always valid JSON: a float that is not finite (never in a validated body) is written as null.
    written = json_bytes(value).decode("utf-8", "surrogatepass")
    assert json.loads(written, parse_constant=_reject) == json.loads(json.dumps(_finite(value), ensure_ascii=False))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value
