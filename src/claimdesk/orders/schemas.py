"""Request and response shapes of the order endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from claimdesk.rules.codes import Code
from claimdesk.rules.fields import Email, HttpUri, LookupRef, PositiveAmount, ProductRef, Text


class StrictBody(BaseModel):
    """Unknown fields are mistakes (``unknown_field``), reported with the nearest known name."""

    model_config = ConfigDict(extra="forbid")


class OrderLineIn(StrictBody):
    id: ProductRef | None = Field(default=None, description="Your product id (recommended). Integer or string.")
    code: Text(200) | None = Field(default=None, description="The product's code, e.g. banner-510.")  # type: ignore[valid-type]
    amount: PositiveAmount = Field(description="How many items were ordered, at least 1.")


class OrderIn(StrictBody):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "my_weborder_1234",
                "reference": "Banner 510 for customer X",
                "customer_email": "end.customer@example.org",
                "callback_urls": ["https://reseller.example/hooks/orders"],
                "products": [{"id": 17, "code": "banner-510", "amount": 3}, {"code": "flyer-a5", "amount": 500}],
            }
        }
    )

    id: Text(64) = Field(description="Your own order id, unique in your account.")  # type: ignore[valid-type]
    reference: Text(500) | None = None  # type: ignore[valid-type]
    customer_email: Email | None = Field(default=None, description="The end customer's e-mail address.")
    callback_urls: list[HttpUri] | None = Field(default=None, max_length=10)
    products: list[OrderLineIn] = Field(min_length=1, max_length=100)


def _exactly_one_key(schema: dict[str, Any]) -> None:
    """The document says what ``one_key`` checks: exactly one of the three keys (given, not null)."""
    for prop in schema["properties"].values():
        prop.update(prop.pop("anyOf")[0])
        prop.pop("default", None)
    schema["oneOf"] = [{"required": [key]} for key in schema["properties"]]


class OrderQuery(StrictBody):
    """Exactly one of: your order id, the supplier_order_number, or the order's reference."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one_key)

    id: LookupRef | None = None
    supplier_order_number: LookupRef | None = None
    reference: Text(500) | None = None  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def one_key(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = [k for k in ("id", "supplier_order_number", "reference") if data.get(k) is not None]
            if not given and not (set(data) - {"id", "supplier_order_number", "reference"}):
                raise PydanticCustomError(Code.REQUIRED, "Give one of id, supplier_order_number or reference")
            if len(given) > 1:
                raise PydanticCustomError(Code.INVALID_TYPE, "Give only one of id, supplier_order_number or reference")
        return data


class OrderStatusIn(StrictBody):
    orders: list[OrderQuery] = Field(min_length=1, max_length=5)
