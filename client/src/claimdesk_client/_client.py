"""``Client`` and ``AsyncClient``: configuration, the retry loop, and the resources (tickets, orders, ...)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import httpx

from . import _calls as calls
from ._exceptions import ClaimdeskError
from ._limiter import RateLimiter
from ._models import Account, Event, Order, OrderNotFound, Reason, Solution, Ticket, TicketReceipt, Webhook
from ._retry import Attempts, Call, RetryPolicy
from ._version import __version__

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
Files = Iterable[str | Mapping[str, Any]]
OrderQuery = str | int | Mapping[str, Any]


class ConfigurationError(ClaimdeskError, ValueError):
    """The client is missing its API key (pass ``api_key`` or set ``CLAIMDESK_API_KEY``)."""


class _Settings:
    """What both clients are configured with: arguments first, then ``CLAIMDESK_URL`` / ``CLAIMDESK_API_KEY``."""

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        timeout: float | httpx.Timeout | None,
        retry: RetryPolicy | None,
        rate_limit: bool,
        clock: Callable[[], float],
    ) -> None:
        self.base_url = (base_url or os.environ.get("CLAIMDESK_URL") or DEFAULT_URL).rstrip("/")
        key = api_key or os.environ.get("CLAIMDESK_API_KEY")
        if not key:
            raise ConfigurationError("No API key: pass api_key=... or set CLAIMDESK_API_KEY.")
        self.api_key = key
        self.timeout = DEFAULT_TIMEOUT if timeout is None else httpx.Timeout(timeout)
        self.retry = retry or RetryPolicy()
        self.limiter = RateLimiter(clock) if rate_limit else None

    def http_options(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "timeout": self.timeout,
            "headers": {
                "Authorization": f"Bearer {self.api_key}",
                "User-Agent": f"claimdesk-client/{__version__}",
                "Accept": "application/json",
            },
        }

    def start(self, call: Call[Any]) -> tuple[Attempts, dict[str, Any]]:
        """The attempts of ``call`` and the arguments of each request: all share one ``x-request-id``, so the
        server's log shows a call's retries together."""
        request_id = uuid.uuid4().hex
        attempts = Attempts(self.retry, idempotent=call.idempotent, request_id=request_id)
        arguments: dict[str, Any] = {"headers": {"x-request-id": request_id}}
        if call.json is not None:
            arguments["json"] = call.json
        if call.params:
            arguments["params"] = call.params
        return attempts, arguments

    def seen(self, response: httpx.Response, attempts: Attempts) -> float | None:
        if self.limiter is not None:
            self.limiter.update(response.headers)
        delay = attempts.after_response(response)
        if delay is not None and response.status_code == 429 and self.limiter is not None:
            self.limiter.exhausted(delay)
            return 0.0  # the limiter does the waiting
        return delay


class Client:
    """The claimdesk API, synchronously. Safe to share between threads; close it (or use ``with``).

    ``base_url`` and ``api_key`` default to ``CLAIMDESK_URL`` (else ``http://127.0.0.1:8000``) and
    ``CLAIMDESK_API_KEY``. ``timeout`` is in seconds (or an ``httpx.Timeout``); ``retry`` says how failed
    calls are retried (``NO_RETRIES`` turns that off); ``rate_limit=False`` turns off the client-side
    limiter. ``transport``, ``sleep`` and ``clock`` are for tests (``httpx.MockTransport``, fake time).
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: bool = True,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = _Settings(
            base_url=base_url, api_key=api_key, timeout=timeout, retry=retry, rate_limit=rate_limit, clock=clock
        )
        self._http = httpx.Client(transport=transport, **self._settings.http_options())
        self._sleep = sleep
        self.tickets = Tickets(self)
        self.orders = Orders(self)
        self.events = Events(self)
        self.webhooks = Webhooks(self)

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _wait_for_budget(self) -> None:
        limiter = self._settings.limiter
        while limiter is not None and (delay := limiter.acquire()) > 0:
            self._sleep(delay)

    def _run(self, call: Call[T]) -> T:
        attempts, arguments = self._settings.start(call)
        while True:
            self._wait_for_budget()
            try:
                response = self._http.request(call.method, call.path, **arguments)
            except httpx.TransportError as exc:
                self._sleep(attempts.after_error(exc))
                continue
            delay = self._settings.seen(response, attempts)
            if delay is None:
                return attempts.result(call, response)
            if delay > 0:
                self._sleep(delay)

    def reasons(self) -> list[Reason]:
        """The reasons a ticket may give, in the guide's order, with whether files are required."""
        return self._run(calls.reasons())

    def solutions(self) -> list[Solution]:
        """The solutions a ticket may suggest, in the guide's order."""
        return self._run(calls.solutions())

    def account(self) -> Account:
        """The calling account."""
        return self._run(calls.account())


class AsyncClient:
    """The claimdesk API for asyncio; the same options and methods as ``Client``, awaited."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = _Settings(
            base_url=base_url, api_key=api_key, timeout=timeout, retry=retry, rate_limit=rate_limit, clock=clock
        )
        self._http = httpx.AsyncClient(transport=transport, **self._settings.http_options())
        self._sleep = sleep
        self.tickets = AsyncTickets(self)
        self.orders = AsyncOrders(self)
        self.events = AsyncEvents(self)
        self.webhooks = AsyncWebhooks(self)

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _wait_for_budget(self) -> None:
        limiter = self._settings.limiter
        while limiter is not None and (delay := limiter.acquire()) > 0:
            await self._sleep(delay)

    async def _run(self, call: Call[T]) -> T:
        attempts, arguments = self._settings.start(call)
        while True:
            await self._wait_for_budget()
            try:
                response = await self._http.request(call.method, call.path, **arguments)
            except httpx.TransportError as exc:
                await self._sleep(attempts.after_error(exc))
                continue
            delay = self._settings.seen(response, attempts)
            if delay is None:
                return attempts.result(call, response)
            if delay > 0:
                await self._sleep(delay)

    async def reasons(self) -> list[Reason]:
        """The reasons a ticket may give, in the guide's order, with whether files are required."""
        return await self._run(calls.reasons())

    async def solutions(self) -> list[Solution]:
        """The solutions a ticket may suggest, in the guide's order."""
        return await self._run(calls.solutions())

    async def account(self) -> Account:
        """The calling account."""
        return await self._run(calls.account())


C = TypeVar("C", Client, AsyncClient)


class _Resource(Generic[C]):
    def __init__(self, client: C) -> None:
        self._client: C = client


def _ticket_filters(
    status: str | None, reason: str | None, order_id: str | None, updated_since: str | None
) -> dict[str, str | None]:
    return {"status": status, "reason": reason, "order_id": order_id, "updated_since": updated_since}


class Tickets(_Resource[Client]):
    """``client.tickets``: file, validate, read, list and answer your tickets."""

    def create(self, body: Mapping[str, Any]) -> TicketReceipt:
        """File a ticket (the guide's "Ticket breakdown"). Without an ``id`` one is made; retries send the
        same, so a retry never makes a second ticket. Raises ``ValidationFailed`` or ``Conflict``."""
        return self._client._run(calls.create_ticket(body))

    def validate(self, body: Mapping[str, Any]) -> bool:
        """Check a ticket as ``create`` would, storing nothing: True, or the error ``create`` would raise."""
        return self._client._run(calls.validate_ticket(body))

    def get(self, ticket_id: str) -> Ticket:
        """One of your tickets by your own ticket id."""
        return self._client._run(calls.get_ticket(ticket_id))

    def reply(self, ticket_id: str, body: str, *, files: Files | None = None) -> Ticket:
        """Add a reply (with file URLs) to the ticket's thread; a reply to a holding ticket makes it pending."""
        return self._client._run(calls.reply(ticket_id, body, files))

    def list(
        self,
        *,
        status: str | None = None,
        reason: str | None = None,
        order_id: str | None = None,
        updated_since: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Ticket]:
        """Your tickets, newest first, fetched a page at a time as you iterate."""
        filters = _ticket_filters(status, reason, order_id, updated_since)
        cursor: str | None = None
        while True:
            page = self._client._run(calls.ticket_page(filters, cursor, page_size))
            yield from page.items
            if page.cursor is None:
                return
            cursor = page.cursor


class AsyncTickets(_Resource[AsyncClient]):
    """``client.tickets`` of ``AsyncClient``: the methods of ``Tickets``, awaited."""

    async def create(self, body: Mapping[str, Any]) -> TicketReceipt:
        """File a ticket; see ``Tickets.create``."""
        return await self._client._run(calls.create_ticket(body))

    async def validate(self, body: Mapping[str, Any]) -> bool:
        """Check a ticket as ``create`` would, storing nothing."""
        return await self._client._run(calls.validate_ticket(body))

    async def get(self, ticket_id: str) -> Ticket:
        """One of your tickets by your own ticket id."""
        return await self._client._run(calls.get_ticket(ticket_id))

    async def reply(self, ticket_id: str, body: str, *, files: Files | None = None) -> Ticket:
        """Add a reply to the ticket's thread."""
        return await self._client._run(calls.reply(ticket_id, body, files))

    async def list(
        self,
        *,
        status: str | None = None,
        reason: str | None = None,
        order_id: str | None = None,
        updated_since: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Ticket]:
        """Your tickets, newest first, fetched a page at a time as you iterate (``async for``)."""
        filters = _ticket_filters(status, reason, order_id, updated_since)
        cursor: str | None = None
        while True:
            page = await self._client._run(calls.ticket_page(filters, cursor, page_size))
            for ticket in page.items:
                yield ticket
            if page.cursor is None:
                return
            cursor = page.cursor


class Orders(_Resource[Client]):
    """``client.orders``: register orders and look up their status (with claimable amounts and tickets)."""

    def create(self, body: Mapping[str, Any]) -> Order:
        """Register an order so tickets can refer to it. Not retried once sent (an order id is used once)."""
        return self._client._run(calls.create_order(body))

    def status(self, *queries: OrderQuery) -> list[Order | OrderNotFound]:
        """Orders by your order id (str), supplier order number (int) or a lookup dict, in the order asked;
        more than 5 are asked 5 at a time."""
        lookups = [calls.lookup(q) for q in queries]
        return [found for batch in calls.batches(lookups) for found in self._client._run(calls.order_status(batch))]


class AsyncOrders(_Resource[AsyncClient]):
    """``client.orders`` of ``AsyncClient``."""

    async def create(self, body: Mapping[str, Any]) -> Order:
        """Register an order; see ``Orders.create``."""
        return await self._client._run(calls.create_order(body))

    async def status(self, *queries: OrderQuery) -> list[Order | OrderNotFound]:
        """Orders by id, number or lookup dict; see ``Orders.status``."""
        lookups = [calls.lookup(q) for q in queries]
        found: list[Order | OrderNotFound] = []
        for batch in calls.batches(lookups):
            answered: list[Order | OrderNotFound] = await self._client._run(calls.order_status(batch))
            found.extend(answered)
        return found


class Events(_Resource[Client]):
    """``client.events``: your tickets' events, the same the webhooks deliver."""

    def list(self, *, since: int = 0, page_size: int | None = None) -> Iterator[Event]:
        """Events after ``since`` (an event id), oldest first, until the newest; fetched as you iterate."""
        cursor = since
        while True:
            page = self._client._run(calls.event_page(cursor, page_size))
            yield from page.items
            if page.cursor is None:
                return
            cursor = int(page.cursor)


class AsyncEvents(_Resource[AsyncClient]):
    """``client.events`` of ``AsyncClient``."""

    async def list(self, *, since: int = 0, page_size: int | None = None) -> AsyncIterator[Event]:
        """Events after ``since``, oldest first (``async for``)."""
        cursor = since
        while True:
            page = await self._client._run(calls.event_page(cursor, page_size))
            for event in page.items:
                yield event
            if page.cursor is None:
                return
            cursor = int(page.cursor)


class Webhooks(_Resource[Client]):
    """``client.webhooks``: the endpoints the service delivers your events to."""

    def create(self, url: str, events: Sequence[str]) -> Webhook:
        """Register an endpoint; the answer's ``secret`` (shown once) checks its deliveries."""
        return self._client._run(calls.create_webhook(url, events))

    def list(self) -> list[Webhook]:
        """Your endpoints, without secrets."""
        return self._client._run(calls.list_webhooks())

    def delete(self, webhook_id: int | str) -> None:
        """Delete an endpoint."""
        self._client._run(calls.delete_webhook(webhook_id))

    def rotate_secret(self, webhook_id: int | str) -> Webhook:
        """A new secret; deliveries are signed with both until the old one expires."""
        return self._client._run(calls.rotate_webhook_secret(webhook_id))


class AsyncWebhooks(_Resource[AsyncClient]):
    """``client.webhooks`` of ``AsyncClient``."""

    async def create(self, url: str, events: Sequence[str]) -> Webhook:
        """Register an endpoint."""
        return await self._client._run(calls.create_webhook(url, events))

    async def list(self) -> list[Webhook]:
        """Your endpoints, without secrets."""
        return await self._client._run(calls.list_webhooks())

    async def delete(self, webhook_id: int | str) -> None:
        """Delete an endpoint."""
        await self._client._run(calls.delete_webhook(webhook_id))

    async def rotate_secret(self, webhook_id: int | str) -> Webhook:
        """A new secret; deliveries are signed with both until the old one expires."""
        return await self._client._run(calls.rotate_webhook_secret(webhook_id))
