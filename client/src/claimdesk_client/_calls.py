"""Each API call as data (a ``Call``): built once here, run by the sync and the async client alike."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from ._models import Account, Event, Order, OrderNotFound, Reason, Solution, Ticket, TicketReceipt, Webhook
from ._retry import Attempts, Call

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# POST /order/status takes at most this many lookups per call.
ORDER_STATUS_BATCH = 5
TICKET_ID_PREFIX = "tkt_"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``cursor`` is where the next page starts (None after the last)."""

    items: list[T]
    cursor: str | None


def _path(*parts: str | int) -> str:
    return "/" + "/".join(quote(str(p), safe="") for p in parts)


def _model(model: type[M], key: str | None = None) -> Callable[[httpx.Response, Attempts], M]:
    def parse(response: httpx.Response, _attempts: Attempts) -> M:
        data = response.json()
        return model.model_validate(data[key] if key is not None else data)

    return parse


def _models(model: type[M], key: str) -> Callable[[httpx.Response, Attempts], list[M]]:
    def parse(response: httpx.Response, _attempts: Attempts) -> list[M]:
        return [model.model_validate(item) for item in response.json()[key]]

    return parse


def new_ticket_id() -> str:
    """A ticket id for a body that has none, made once per call so that every retry sends the same."""
    return TICKET_ID_PREFIX + uuid.uuid4().hex


def with_ticket_id(body: Mapping[str, Any]) -> dict[str, Any]:
    ticket = dict(body)
    if ticket.get("id") is None:
        ticket["id"] = new_ticket_id()
    return ticket


def _receipt(response: httpx.Response, attempts: Attempts) -> TicketReceipt:
    data = response.json()
    # 201: this call made it. 200 "already received": it was there already, unless an earlier attempt of
    # this very call may have made it (and its answer was lost): then this call made it.
    created = response.status_code == 201 or attempts.maybe_done
    return TicketReceipt.model_validate({**data, "created": created})


def create_ticket(body: Mapping[str, Any]) -> Call[TicketReceipt]:
    return Call("POST", "/tickets", _receipt, json=with_ticket_id(body), idempotent=True)


def validate_ticket(body: Mapping[str, Any]) -> Call[bool]:
    return Call("POST", "/tickets/validate", lambda r, _a: bool(r.json()["valid"]), json=dict(body), idempotent=True)


def get_ticket(ticket_id: str) -> Call[Ticket]:
    return Call("GET", _path("tickets", ticket_id), _model(Ticket), idempotent=True)


def ticket_page(filters: Mapping[str, str | None], cursor: str | None, limit: int | None) -> Call[Page[Ticket]]:
    params = {k: v for k, v in filters.items() if v is not None}
    if cursor is not None:
        params["cursor"] = cursor
    if limit is not None:
        params["limit"] = str(limit)

    def parse(response: httpx.Response, _attempts: Attempts) -> Page[Ticket]:
        data = response.json()
        return Page([Ticket.model_validate(t) for t in data["tickets"]], data.get("next_cursor"))

    return Call("GET", "/tickets", parse, params=params, idempotent=True)


def _files(files: Iterable[str | Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    if files is None:
        return None
    return [{"uri": f} if isinstance(f, str) else dict(f) for f in files]


def reply(ticket_id: str, body: str, files: Iterable[str | Mapping[str, Any]] | None) -> Call[Ticket]:
    payload: dict[str, Any] = {"body": body}
    if files is not None:
        payload["files"] = _files(files)
    return Call("POST", _path("tickets", ticket_id, "messages"), _model(Ticket), json=payload)


def create_order(body: Mapping[str, Any]) -> Call[Order]:
    return Call("POST", "/order", _model(Order, "order"), json=dict(body))


def lookup(query: str | int | Mapping[str, Any]) -> dict[str, Any]:
    """An order status lookup: a dict as it is, a string as your order id, an int as the supplier's number."""
    if isinstance(query, Mapping):
        return dict(query)
    if isinstance(query, int):
        return {"supplier_order_number": query}
    return {"id": query}


def order_status(queries: Sequence[Mapping[str, Any]]) -> Call[list[Order | OrderNotFound]]:
    def parse(response: httpx.Response, _attempts: Attempts) -> list[Order | OrderNotFound]:
        return [
            OrderNotFound.model_validate(o) if "error" in o else Order.model_validate(o)
            for o in response.json()["orders"]
        ]

    return Call("POST", "/order/status", parse, json={"orders": list(queries)}, idempotent=True)


def batches(queries: Sequence[Mapping[str, Any]]) -> list[Sequence[Mapping[str, Any]]]:
    return [queries[i : i + ORDER_STATUS_BATCH] for i in range(0, len(queries), ORDER_STATUS_BATCH)] or [[]]


def reasons() -> Call[list[Reason]]:
    return Call("GET", "/reasons", _models(Reason, "reasons"), idempotent=True)


def solutions() -> Call[list[Solution]]:
    return Call("GET", "/solutions", _models(Solution, "solutions"), idempotent=True)


def account() -> Call[Account]:
    return Call("GET", "/account", _model(Account), idempotent=True)


def event_page(since: int, limit: int | None) -> Call[Page[Event]]:
    params = {"since": str(since)}
    if limit is not None:
        params["limit"] = str(limit)

    def parse(response: httpx.Response, _attempts: Attempts) -> Page[Event]:
        data = response.json()
        events = [Event.model_validate(e) for e in data["events"]]
        next_since = data.get("next_since")
        # An empty page, or one shorter than asked for, is the newest there is: no need to ask again.
        last = not events or next_since is None or (limit is not None and len(events) < limit)
        return Page(events, None if last else str(next_since))

    return Call("GET", "/events", parse, params=params, idempotent=True)


def create_webhook(url: str, events: Sequence[str]) -> Call[Webhook]:
    return Call("POST", "/webhooks", _model(Webhook), json={"url": url, "events": list(events)})


def list_webhooks() -> Call[list[Webhook]]:
    return Call("GET", "/webhooks", _models(Webhook, "webhooks"), idempotent=True)


def delete_webhook(webhook_id: int | str) -> Call[None]:
    return Call(
        "DELETE",
        _path("webhooks", webhook_id),
        lambda _r, _a: None,
        idempotent=True,
        done_after_retry=frozenset({404}),
    )


def rotate_webhook_secret(webhook_id: int | str) -> Call[Webhook]:
    return Call("POST", _path("webhooks", webhook_id, "rotate-secret"), _model(Webhook))
