"""A ticket's body hash, written by orjson for a body that parsed, is the hash ``json`` writes: tickets filed
before keep matching their retries."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claimdesk.tickets.schemas import GUIDE_EXAMPLE
from claimdesk.tickets.service import body_hash, draft_ticket, ticket_body_hash


def by_json(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


# What a body that parsed as a ticket is made of: no floats (every number field is an integer).
no_floats = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(st.characters(codec="utf-8")),  # every code point but the surrogates
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=6), children, max_size=5)
    ),
    max_leaves=16,
)


@given(no_floats)
def test_any_value_without_floats_hashes_as_json_writes_it(value: Any) -> None:
    assert ticket_body_hash(value) == body_hash(value) == by_json(value)


@pytest.mark.parametrize(
    "value",
    [
        {"id": "\ud800"},  # a lone surrogate: orjson refuses it, json writes it
        {"order_id": 10**40},  # past 64 bits
        {"b": [2**63 - 1, -(2**63), 2**64 - 1], "a": {"z": None, "é": "\U0001d11e", "\uffff": "\u2028\t\n"}},
    ],
)
def test_what_orjson_refuses_or_spells_its_own_way(value: Any) -> None:
    assert ticket_body_hash(value) == by_json(value)


def test_a_draft_is_hashed_as_json_writes_it_parsed_or_not() -> None:
    ticket = {**GUIDE_EXAMPLE, "description": "Zwei Banner \u00e4 zerrissen\n\tmit Foto \U0001f4f7"}
    draft = asyncio.run(draft_ticket(ticket, allow_private_urls=True))
    assert draft.parsed is not None
    assert draft.digest == by_json(ticket)
    refused = {**ticket, "products": [{"id": 17, "amount": 1e-7}], "description": float("inf")}
    draft = asyncio.run(draft_ticket(refused, allow_private_urls=True))
    assert draft.parsed is None
    assert draft.digest == by_json(refused)
