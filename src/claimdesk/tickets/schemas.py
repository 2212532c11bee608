"""Request shapes of the ticket endpoints (the guide's "Ticket breakdown")."""

from __future__ import annotations

from pydantic import ConfigDict, Field, StrictBool
from pydantic.config import JsonDict

from claimdesk.orders.schemas import StrictBody
from claimdesk.rules.catalogue import Reason, Solution
from claimdesk.rules.fields import Email, HttpUri, OrderRef, PositiveAmount, ProductRef, Text

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
