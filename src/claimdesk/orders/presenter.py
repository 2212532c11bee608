"""How an order is shown to its reseller."""

from __future__ import annotations

from typing import Any

from claimdesk.models import Order, Ticket
from claimdesk.timefmt import rfc3339


def order_view(order: Order, claimable: dict[str, int] | None = None) -> dict[str, Any]:
    products = []
    for line in order.products:
        product: dict[str, Any] = {"id": line.ref, "code": line.code, "amount": line.amount}
        if claimable is not None:
            product["claimable"] = claimable.get(line.key, line.amount)
        products.append(product)
    return {
        "id": order.external_id,
        "supplier_order_number": order.id,
        "reference": order.reference,
        "customer_email": order.customer_email,
        "callback_urls": list(order.callback_urls or []),
        "products": products,
        "created_at": rfc3339(order.created_at),
    }


def order_status_view(order: Order, claimable: dict[str, int], tickets: list[Ticket]) -> dict[str, Any]:
    view = order_view(order, claimable)
    view["tickets"] = [{"id": t.external_id, "number": t.id, "status": t.status, "reason": t.reason} for t in tickets]
    return view
