"""Property-based tests of the pure validation: whatever JSON arrives, the answer is a list of problems
in the contract's terms, never an exception; valid bodies parse; over-claims are always caught."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimdesk.orders.schemas import OrderIn, OrderStatusIn
from claimdesk.rules.catalogue import Reason, Solution
from claimdesk.rules.codes import Code
from claimdesk.rules.tickets import OrderFacts, OrderLine, contact_problems, product_line_problems
from claimdesk.tickets.schemas import TicketIn
from claimdesk.validation import parse

# Modest and deterministic: the same examples on every run, nothing kept between runs.
quick = settings(
    max_examples=150, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

texts = st.text(alphabet=st.characters(codec=None), max_size=30) | st.sampled_from(
    ["", "\x00", "\ud800", "damaged", "rework", "17", "https://93.184.215.14/a.jpg", "a@b.example", "x" * 70]
)
scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False) | texts
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4), max_leaves=12
)


def near(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with some of the known fields (each valid-ish or any JSON) and maybe unknown ones."""
    return st.builds(
        lambda known, unknown: {**unknown, **known},
        st.fixed_dictionaries({}, optional={k: v | json_values for k, v in fields.items()}),
        st.dictionaries(texts, json_values, max_size=2),
    )


files_near = near({"uri": st.sampled_from(["https://93.184.215.14/a.jpg", "ftp://x/y", "/rel", "http://10.0.0.1/"])})
lines_near = near(
    {
        "id": st.integers(0, 5) | st.sampled_from(["1", "2", "flyer"]),
        "amount": st.integers(-2, 12),
        "files": st.lists(files_near, max_size=3),
    }
)
tickets_near = near(
    {
        "order_id": st.sampled_from(["o-1", "1234"]) | st.integers(0, 2000),
        "id": st.sampled_from(["c-1", "", "x" * 65]),
        "description": texts,
        "reason": st.sampled_from([r.value for r in Reason] + ["broken"]),
        "suggested_solution": st.sampled_from([s.value for s in Solution] + ["refund"]),
        "contact_email": st.sampled_from(["support@reseller.example", "END.customer@example.org", "nope", "a@b"]),
        "products": st.lists(lines_near, max_size=4),
    }
)
bodies = json_values | tickets_near

order_facts = st.builds(
    lambda customer, lines: OrderFacts(
        customer_email=customer,
        lines={str(i): OrderLine(ref=i, amount=amount, claimed=claimed) for i, (amount, claimed) in enumerate(lines)},
    ),
    st.sampled_from([None, "end.customer@example.org"]),
    st.lists(st.tuples(st.integers(1, 10), st.integers(0, 12)), min_size=1, max_size=4),
)


def check_problems(problems: list[Any]) -> None:
    for problem in problems:
        assert isinstance(problem.loc, str)
        assert problem.loc
        assert isinstance(problem.code, Code), problem
        assert isinstance(problem.message, str)
        assert problem.message


class TestAnyBody:
    @quick
    @given(body=bodies)
    def test_ticket_parse_never_raises(self, body: Any) -> None:
        parsed, problems = parse(TicketIn, body)
        assert (parsed is None) == bool(problems)
        check_problems(problems)

    @quick
    @given(body=bodies, order=st.none() | order_facts)
    def test_rules_never_raise(self, body: Any, order: OrderFacts | None) -> None:
        if not isinstance(body, dict):
            return
        check_problems(product_line_problems(body, order))
        check_problems(contact_problems(body, order))

    @quick
    @given(
        body=json_values
        | near(
            {"id": texts, "products": st.lists(lines_near, max_size=3), "callback_urls": st.lists(texts, max_size=2)}
        )
    )
    def test_order_parse_never_raises(self, body: Any) -> None:
        _parsed, problems = parse(OrderIn, body)
        check_problems(problems)

    @quick
    @given(
        body=json_values
        | st.fixed_dictionaries(
            {
                "orders": st.lists(
                    json_values | near({"id": texts, "supplier_order_number": scalars, "reference": texts}), max_size=7
                )
            }
        )
    )
    def test_order_status_parse_never_raises(self, body: Any) -> None:
        _parsed, problems = parse(OrderStatusIn, body)
        check_problems(problems)


safe_text = st.text(alphabet=string.ascii_letters + string.digits + "-_. ", min_size=1, max_size=64)


@st.composite
def valid_tickets(draw: st.DrawFn) -> tuple[dict[str, Any], OrderFacts]:
    """A body that follows every rule, and the order it is about."""
    amounts = draw(st.lists(st.tuples(st.integers(1, 50), st.integers(0, 50)), min_size=1, max_size=6))
    lines = {str(i): OrderLine(ref=i, amount=a, claimed=min(c, a - 1)) for i, (a, c) in enumerate(amounts)}
    order = OrderFacts(customer_email="end.customer@example.org", lines=lines)
    chosen = draw(st.lists(st.sampled_from(sorted(lines)), min_size=1, unique=True))
    reason = draw(st.sampled_from(list(Reason)))
    products = []
    for key in chosen:
        line: dict[str, Any] = {
            "id": draw(st.sampled_from([int(key), key])),
            "amount": draw(st.integers(1, lines[key].claimable)),
        }
        count = draw(st.integers(1 if reason.needs_files else 0, 3))
        if count or draw(st.booleans()):
            line["files"] = [{"uri": f"https://93.184.215.14/{key}/{n}.jpg"} for n in range(count)]
        products.append(line)
    body: dict[str, Any] = {
        "order_id": draw(safe_text),
        "id": draw(safe_text),
        "reason": reason.value,
        "suggested_solution": draw(st.sampled_from(list(Solution))).value,
        "contact_email": draw(st.sampled_from(["support@reseller.example", "claims@print-partners.example"])),
        "products": products,
    }
    if draw(st.booleans()):
        body["description"] = draw(
            st.text(alphabet=st.characters(categories=["L", "N", "P", "Zs"]), min_size=1, max_size=200)
        )
    return body, order


class TestValidBodies:
    @quick
    @given(case=valid_tickets())
    def test_parse_and_pass_every_rule(self, case: tuple[dict[str, Any], OrderFacts]) -> None:
        body, order = case
        parsed, problems = parse(TicketIn, body)
        assert problems == []
        assert parsed is not None
        assert len(parsed.products) == len(body["products"])
        assert product_line_problems(body, order) == []
        assert contact_problems(body, order) == []


class TestOverClaims:
    @quick
    @given(case=valid_tickets(), data=st.data())
    def test_amounts_over_claimable_are_always_flagged(
        self, case: tuple[dict[str, Any], OrderFacts], data: st.DataObject
    ) -> None:
        body, order = case
        index = data.draw(st.integers(0, len(body["products"]) - 1))
        line = body["products"][index]
        line["amount"] = order.lines[str(line["id"])].claimable + data.draw(st.integers(1, 2**31))
        problems = product_line_problems(body, order)
        assert [(p.loc, p.code) for p in problems] == [(f"products.{index}.amount", "amount_exceeds_order")]
        remaining = order.lines[str(line["id"])].claimable
        assert f"Only {remaining} " in problems[0].message
