"""Request shapes of the ticket endpoints (the guide's "Ticket breakdown"), the reseller's and the staff's:
status changes with their resolution, and assignment."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from claimdesk.orders.schemas import StrictBody
from claimdesk.rules.catalogue import Reason, Solution
from claimdesk.rules.codes import Code
from claimdesk.rules.fields import MAX_INT, Email, HttpUri, OrderRef, PositiveAmount, ProductRef, Text
from claimdesk.rules.statuses import Outcome, TicketStatus

GUIDE_EXAMPLE: JsonDict = {
    "order_id": "my_weborder_1234",
    "id": "complaint-77",
    "description": "Two banners arrived torn",
    "reason": "damaged",
    "suggested_solution": "rework",
    "contact_email": "support@reseller.example",
    "products": [{"id": 17, "amount": 2, "files": [{"uri": "https://reseller.example/photos/77-1.jpg"}]}],
}

MAX_FILES_PER_LINE = 10


class FileIn(StrictBody):
    uri: HttpUri = Field(description="A full http(s) URL of a photo or PDF, at most 2,048 characters.")


class TicketLineIn(StrictBody):
    id: ProductRef = Field(description='A product id of the order (17 and "17" are the same product).')
    amount: PositiveAmount = Field(description="How many items of that product the complaint is about.")
    files: list[FileIn] | None = Field(default=None, max_length=MAX_FILES_PER_LINE)


class TicketIn(StrictBody):
    model_config = ConfigDict(json_schema_extra={"example": GUIDE_EXAMPLE})

    order_id: OrderRef = Field(
        description="Your own order id, not the supplier_order_number. A number is taken as its string form."
    )
    id: Text(64) = Field(description="Your unique ticket id; sending it again with the same body is safe.")  # type: ignore[valid-type]
    description: Text(5000, multiline=True) | None = None  # type: ignore[valid-type]
    reason: Reason
    suggested_solution: Solution
    contact_email: Email = Field(description="Your company's contact person, never your customer's e-mail.")
    products: list[TicketLineIn] = Field(min_length=1, max_length=100)


class MessageIn(StrictBody):
    body: Text(10_000, multiline=True)  # type: ignore[valid-type]
    files: list[FileIn] | None = Field(default=None, max_length=MAX_FILES_PER_LINE)


class StaffMessageIn(MessageIn):
    internal: StrictBool = Field(default=False, description="A note for staff only; resellers never see it.")


def _check_count(value: int) -> int:
    if not 0 <= value <= 2_147_483_647:
        raise PydanticCustomError(Code.OUT_OF_RANGE, "Must be between 0 and 2147483647")
    return value


Count = Annotated[
    StrictInt, AfterValidator(_check_count), WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 2_147_483_647})
]


class GrantIn(StrictBody):
    id: ProductRef = Field(description="A product id of the ticket's product lines.")
    granted: Count = Field(description="How many of the claimed items are granted (at most the amount claimed).")


class ResolutionIn(StrictBody):
    outcome: Outcome = Field(
        description="rework, credit, other or rejected (a rejected ticket's items can be claimed again)."
    )
    note: Text(5000, multiline=True) = Field(description="Why, for the reseller.")  # type: ignore[valid-type]
    products: list[GrantIn] | None = Field(
        default=None, min_length=1, max_length=100, description="Items granted per product line, where it applies."
    )


class StatusChangeIn(StrictBody):
    status: TicketStatus = Field(description="The status to move to: pending, holding or solved.")
    message: Text(10_000, multiline=True) | None = Field(  # type: ignore[valid-type]
        default=None, description="A public reply to the reseller, added to the thread with the change."
    )
    resolution: ResolutionIn | None = Field(default=None, description="Required with, and only with, solved.")
    version: StrictInt | None = Field(
        default=None,
        description="The ticket's version as you read it; a ticket changed since then answers 409 (no lost update).",
    )


def _check_assignee(value: Any) -> Any:
    if value is None or value == "me":
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_INT:
        return value
    raise PydanticCustomError(Code.INVALID_TYPE, 'assignee must be a staff id, "me" or null')


Assignee = Annotated[
    int | str | None,
    BeforeValidator(_check_assignee),
    WithJsonSchema({"oneOf": [{"type": "integer"}, {"const": "me"}, {"type": "null"}]}),
]


class AssignIn(StrictBody):
    assignee: Assignee = Field(description='A staff id, "me", or null to unassign.')
