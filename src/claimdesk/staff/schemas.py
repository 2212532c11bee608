"""Request shapes of the staff endpoints: status changes with their resolution, and assignment."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictInt, WithJsonSchema
from pydantic_core import PydanticCustomError

from claimdesk.orders.schemas import StrictBody
from claimdesk.rules.codes import Code
from claimdesk.rules.fields import MAX_INT, ProductRef, Text
from claimdesk.rules.statuses import Outcome, TicketStatus


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
