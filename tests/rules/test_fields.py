"""Text and URL checks: the printable-ASCII shortcut refuses exactly what the full checks refuse."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from claimdesk.rules.fields import _check_uri, check_text

# ASCII controls, the allowed line breaks, DEL, C1, a lone surrogate, Unicode spaces and plain letters.
_TRICKY = [chr(c) for c in range(0x21)] + ["\x7f", "\x85", "\x9f", "\xa0", "\u2028", "\u3000", "\ud800", "é", "a", "/"]
texts = st.text(st.characters(exclude_categories=()), max_size=12) | st.text(st.sampled_from(_TRICKY), max_size=8)


def reference(value: str, *, multiline: bool) -> str | None:
    """The refusal the checks made before the shortcut (None: accepted), for lengths 0 to 100."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "surrogate"
    control = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]" if multiline else r"[\x00-\x1f\x7f-\x9f]"
    return "control" if re.search(control, value) else None


def outcome(value: str, *, multiline: bool) -> str | None:
    try:
        check_text(value, min_length=0, max_length=100, multiline=multiline)
    except PydanticCustomError as exc:
        return "surrogate" if "surrogate" in exc.message() else "control"
    return None


@given(texts, st.booleans())
def test_text_is_refused_exactly_as_before(value: str, multiline: bool) -> None:
    assert outcome(value, multiline=multiline) == reference(value, multiline=multiline)


@given(texts)
def test_a_url_with_any_space_is_refused(tail: str) -> None:
    url = "https://example.com/" + tail
    try:
        _check_uri(url)
    except PydanticCustomError as exc:
        refused: str | None = exc.type
    else:
        refused = None
    if reference(url, multiline=False) is not None:
        assert refused == "invalid_text"
    elif re.search(r"\s", url):
        assert refused == "invalid_uri"


@pytest.mark.parametrize("space", [" ", "\xa0", "\u2028", "\u3000"])
def test_the_spaces_a_url_must_not_contain(space: str) -> None:
    with pytest.raises(PydanticCustomError) as refused:
        _check_uri(f"https://example.com/a{space}b")
    assert refused.value.type == "invalid_uri"
