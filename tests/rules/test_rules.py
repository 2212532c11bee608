"""The guide's rules as pure functions: no server, no database."""

from __future__ import annotations

from typing import Any

import pytest

from claimdesk.rules.catalogue import REASONS, SOLUTIONS, Reason, Solution
from claimdesk.rules.fields import as_id, ascii_int
from claimdesk.rules.problems import suggest
from claimdesk.rules.tickets import OrderFacts, OrderLine, contact_problems, product_line_problems
from claimdesk.tickets.schemas import GUIDE_EXAMPLE, TicketIn
from claimdesk.validation import parse

FILE_REASONS = {"damaged", "cutting-milling-inadequate", "color", "dimensions", "other", "print-quality", "dirty"}


def facts(customer_email: str | None = "end.customer@example.org", /, **lines: tuple[int, int]) -> OrderFacts:
    """Lines by product key: (amount, claimed)."""
    return OrderFacts(
        customer_email=customer_email,
        lines={key: OrderLine(ref=key, amount=amount, claimed=claimed) for key, (amount, claimed) in lines.items()},
    )


def codes(body: Any) -> list[tuple[str, str]]:
    _parsed, problems = parse(TicketIn, body)
    return [(p.loc, p.code) for p in problems]


class TestCatalogue:
    def test_reasons_in_the_guides_order(self) -> None:
        assert [r.value for r in Reason] == [
            "damaged",
            "commodity-item-missing",
            "cutting-milling-inadequate",
            "color",
            "dimensions",
            "other",
            "packing-slip-missing",
            "print-quality",
            "delayed",
            "wrong-quantity",
            "wrong-product",
            "missing",
            "dirty",
            "not-received",
        ]
        assert {r.value for r in Reason if r.needs_files} == FILE_REASONS
        assert set(REASONS) == set(Reason)

    def test_solutions(self) -> None:
        assert [s.value for s in Solution] == ["rework", "credit", "other"]
        assert set(SOLUTIONS) == set(Solution)


class TestParse:
    def test_guide_example_parses(self) -> None:
        parsed, problems = parse(TicketIn, GUIDE_EXAMPLE)
        assert problems == []
        assert parsed is not None
        assert parsed.reason is Reason.DAMAGED

    def test_every_mistake_is_listed(self) -> None:
        assert sorted(codes({"solution": "x", "products": []})) == [
            ("contact_email", "required"),
            ("id", "required"),
            ("order_id", "required"),
            ("products", "too_few"),
            ("reason", "required"),
            ("solution", "unknown_field"),
            ("suggested_solution", "required"),
        ]

    @pytest.mark.parametrize("body", [[], "x", 1, None, True, 1.5])
    def test_a_body_that_is_no_object(self, body: Any) -> None:
        assert codes(body) == [("body", "invalid_type")]

    def test_list_lengths_are_too_few_and_too_many(self) -> None:
        line = {"id": 1, "amount": 1, "files": [{"uri": f"https://93.184.215.14/{i}"} for i in range(11)]}
        assert ("products.0.files", "too_many") in codes({**GUIDE_EXAMPLE, "products": [line]})
        assert ("products", "too_many") in codes(
            {**GUIDE_EXAMPLE, "products": [{"id": i, "amount": 1} for i in range(101)]}
        )

    def test_text_too_short_is_not_a_list_code(self) -> None:
        assert codes({**GUIDE_EXAMPLE, "id": ""}) == [("id", "too_short")]

    @pytest.mark.parametrize("value", [None, 1, ["damaged"], {"v": 1}, True])
    def test_a_choice_of_the_wrong_type(self, value: Any) -> None:
        assert codes({**GUIDE_EXAMPLE, "reason": value}) == [("reason", "invalid_type")]

    def test_number_order_id_is_its_string_form(self) -> None:
        parsed, _ = parse(TicketIn, {**GUIDE_EXAMPLE, "order_id": 1234})
        assert parsed is not None
        assert parsed.order_id == "1234"


class TestSuggest:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [("solution", "suggested_solution"), ("reasons", "reason"), ("contact", "contact_email"), ("qqq", None)],
    )
    def test_nearest_field(self, name: str, expected: str | None) -> None:
        fields = list(TicketIn.model_fields)
        assert suggest(name, fields) == expected


class TestProductLines:
    def test_files_required_for_every_line(self) -> None:
        body = {
            "reason": "damaged",
            "products": [{"id": 1, "files": [{"uri": "x"}]}, {"id": 2}, {"id": 3, "files": []}],
        }
        assert [(p.loc, p.code) for p in product_line_problems(body, None)] == [
            ("products.1.files", "files_required"),
            ("products.2.files", "files_required"),
        ]

    @pytest.mark.parametrize("reason", sorted({r.value for r in Reason} - FILE_REASONS))
    def test_other_reasons_need_no_files(self, reason: str) -> None:
        assert product_line_problems({"reason": reason, "products": [{"id": 1}]}, None) == []

    def test_duplicates_at_the_repeat_by_string_form(self) -> None:
        body = {"reason": "missing", "products": [{"id": 17}, {"id": "17"}, {"id": 18}, {"id": 17}]}
        assert [(p.loc, p.code) for p in product_line_problems(body, None)] == [
            ("products.1.id", "duplicate_product"),
            ("products.3.id", "duplicate_product"),
        ]

    def test_not_in_order_and_amounts(self) -> None:
        order = facts(**{"17": (3, 1), "flyer": (500, 0)})
        body = {
            "reason": "missing",
            "products": [{"id": 17, "amount": 3}, {"id": "flyer", "amount": 500}, {"id": 99, "amount": 1}],
        }
        problems = product_line_problems(body, order)
        assert [(p.loc, p.code) for p in problems] == [
            ("products.0.amount", "amount_exceeds_order"),
            ("products.2.id", "product_not_in_order"),
        ]
        assert "Only 2 " in problems[0].message

    def test_claimable_never_below_zero(self) -> None:
        assert OrderLine(ref=1, amount=2, claimed=5).claimable == 0


class TestContact:
    @pytest.mark.parametrize(
        "email", ["end.customer@example.org", "End.Customer@Example.ORG", " end.customer@example.org "]
    )
    def test_customer_email_given(self, email: str) -> None:
        assert [p.code for p in contact_problems({"contact_email": email}, facts())] == ["customer_email_given"]

    def test_other_emails_and_orders_without_one(self) -> None:
        assert contact_problems({"contact_email": "support@reseller.example"}, facts()) == []
        assert contact_problems({"contact_email": "end.customer@example.org"}, facts(None)) == []
        assert contact_problems({"contact_email": 5}, facts()) == []


@pytest.mark.parametrize(
    ("text", "number", "id_"),
    [
        ("0", 0, 0),
        ("17", 17, 17),
        ("007", 7, 7),
        ("9" * 18, int("9" * 18), int("9" * 18)),
        ("9" * 19, int("9" * 19), None),  # an integer, but no id of ours: more than a BIGINT may hold
        ("²", None, None),  # str.isdigit says yes; int() refuses it
        ("١٢", None, None),  # Arabic-Indic digits: int() would take them, ids are ASCII
        ("-1", None, None),
        (" 1", None, None),
        ("", None, None),
    ],
)
def test_ids_are_ascii_digits(text: str, number: int | None, id_: int | None) -> None:
    assert ascii_int(text) == number
    assert as_id(text) == id_
