"""Every code the service puts in ``errors[].code``, with its meaning and its HTTP status.

This is the one list: ``Problem.code`` takes a ``Code``, the OpenAPI description is written from it, and a test
checks it against the contract (``API.md``), so a code cannot ship undocumented. A new code is added to the
contract first, then here.
"""

from __future__ import annotations

from enum import StrEnum, unique


class Kind(StrEnum):
    """Where a code comes from in the contract."""

    FIELD = "field"  # API.md's "Field codes": the shape of one value
    RULE = "rule"  # the guide's rules, in API.md's Tickets section
    SERVICE = "service"  # API.md's "Codes beyond the guide's rules"


@unique
class Code(StrEnum):
    """A contract error code. Each member carries ``meaning`` (one line), ``kind`` and ``status``."""

    meaning: str
    kind: Kind
    status: int

    def __new__(cls, value: str, meaning: str, kind: Kind = Kind.FIELD, status: int = 422) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        member.kind = kind
        member.status = status
        return member

    # Field codes.
    REQUIRED = "required", "A required field, query parameter or form part is missing."
    INVALID_TYPE = "invalid_type", "The value has the wrong type (a string where a number belongs, null, a list...)."
    INVALID_CHOICE = "invalid_choice", "Not one of the allowed values."
    INVALID_EMAIL = "invalid_email", "Not a valid e-mail address."
    INVALID_URI = "invalid_uri", "Not an absolute http or https URL."
    URL_NOT_ALLOWED = "url_not_allowed", "The URL's host is, or resolves to, a private or reserved address."
    TOO_LONG = "too_long", "Text or a URI longer than allowed."
    TOO_SHORT = "too_short", "Text shorter than allowed; an empty string is too short."
    INVALID_TEXT = "invalid_text", "Text with NUL or other control characters, or invalid Unicode."
    TOO_MANY = "too_many", "A list with more items than allowed."
    TOO_FEW = "too_few", "A list with fewer items than allowed."
    OUT_OF_RANGE = "out_of_range", "A number (or limit) outside its allowed range."
    UNKNOWN_FIELD = "unknown_field", "A field that does not exist here; the message names the nearest known one."
    DUPLICATE_PRODUCT = "duplicate_product", "A product id listed a second time (at the repeat)."
    # The guide's rules.
    ORDER_NOT_FOUND = "order_not_found", "order_id names no order of this account.", Kind.RULE
    SUPPLIER_ORDER_NUMBER_GIVEN = (
        "supplier_order_number_given",
        "order_id is the supplier's order number of an order; give the reseller's own order id.",
        Kind.RULE,
    )
    PRODUCT_NOT_IN_ORDER = "product_not_in_order", "A product id that is no product line of the order.", Kind.RULE
    FILES_REQUIRED = "files_required", "The reason needs at least one file on every product line.", Kind.RULE
    AMOUNT_EXCEEDS_ORDER = (
        "amount_exceeds_order",
        "More items claimed over the account's tickets than were ordered; the message names how many remain.",
        Kind.RULE,
    )
    CUSTOMER_EMAIL_GIVEN = (
        "customer_email_given",
        "contact_email is the order's end customer's address; give the company's contact.",
        Kind.RULE,
    )
    # Codes beyond the guide's rules.
    TICKET_EXISTS = (
        "ticket_exists",
        "The product is already in an unsolved ticket of that reason; the answer names that ticket.",
        Kind.SERVICE,
        409,
    )
    NOT_ALLOWED = "not_allowed", "A field given where it does not apply (a resolution without solved).", Kind.SERVICE
    STAFF_NOT_FOUND = "staff_not_found", "The assignee is no staff member.", Kind.SERVICE
    PRODUCT_NOT_IN_TICKET = (
        "product_not_in_ticket",
        "A file or a granted amount for a product the ticket does not hold.",
        Kind.SERVICE,
    )
    GRANTED_EXCEEDS_CLAIMED = (
        "granted_exceeds_claimed",
        "A resolution grants more items than the ticket claims.",
        Kind.SERVICE,
    )
    GRANTED_WHEN_REJECTED = (
        "granted_when_rejected",
        "A rejected resolution grants items.",
        Kind.SERVICE,
    )
    INVALID_FILE_TYPE = "invalid_file_type", "An upload that is no image or PDF by its content.", Kind.SERVICE
    INVALID_FILE = "invalid_file", "An upload that is an image or PDF but broken (or too many pixels).", Kind.SERVICE


def codes_markdown() -> str:
    """The codes as Markdown for the OpenAPI description (and so ``/docs``), grouped as the contract has them."""
    titles = {
        Kind.FIELD: "Field codes",
        Kind.RULE: "The guide's rules",
        Kind.SERVICE: "Codes beyond the guide's rules",
    }
    parts = ["Codes in `errors[].code` (all `422` unless a status is given):"]
    for kind, title in titles.items():
        parts.append(f"\n{title}:\n")
        for code in Code:
            if code.kind is kind:
                status = f" (`{code.status}`)" if code.status != 422 else ""
                parts.append(f"- `{code.value}`{status}: {code.meaning}")
    return "\n".join(parts)
