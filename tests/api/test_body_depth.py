"""``too_deep``: the nesting-depth count of a parsed JSON body, against a recursive definition."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from claimdesk.api.body import MAX_DEPTH, too_deep

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3),
    max_leaves=60,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@given(json_values, st.integers(min_value=1, max_value=8))
def test_too_deep_is_depth_over_the_limit(value: Any, limit: int) -> None:
    if isinstance(value, dict | list):
        assert too_deep(value, limit) == (depth(value) > limit)


def test_the_limit_itself() -> None:
    nested: list[Any] = []
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    assert depth(nested) == MAX_DEPTH
    assert not too_deep(nested)
    assert too_deep([nested])
    assert too_deep({"a": [1, {"b": nested}]})
    assert not too_deep({"a": [1, {"b": 2}], "c": nested[0]})
