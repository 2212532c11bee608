"""Retries through a fault-injecting proxy in front of the live server (SQLite and PostgreSQL): dropped
connections, 500s, 429s with Retry-After and a slow answer past the timeout, and never a ticket twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from claimdesk.testing.server import ThreadedServer
from claimdesk_client import Client, ConnectionFailed, RetryPolicy, ServerError, TimedOut
from tests.factories import Reseller, ticket_body

from .support import FakeTime, FaultProxy, running_proxy


@pytest.fixture
def proxy(server: ThreadedServer) -> Iterator[FaultProxy]:
    with running_proxy(server.url) as running:
        yield running


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def through_proxy(proxy: FaultProxy, reseller: Reseller, fake_time: FakeTime) -> Iterator[Client]:
    with Client(
        proxy.url, reseller.key, timeout=0.5, sleep=fake_time.sleep, clock=fake_time.clock, retry=RetryPolicy()
    ) as sdk:
        yield sdk


def stored_tickets(client: httpx.Client, reseller: Reseller) -> list[dict[str, Any]]:
    tickets: list[dict[str, Any]] = client.get("/tickets", headers=reseller.headers).json()["tickets"]
    return tickets


@pytest.mark.parametrize(
    "faults",
    [
        ["drop_after"],
        ["500_after"],
        ["slow_after"],
        ["drop", "500", "drop_after"],
        ["500_after", "slow_after", "drop_after"],
    ],
)
def test_ticket_creation_survives_faults_without_a_second_ticket(
    through_proxy: Client,
    proxy: FaultProxy,
    client: httpx.Client,
    reseller: Reseller,
    order: dict[str, Any],
    fake_time: FakeTime,
    faults: list[str],
) -> None:
    proxy.script = list(faults)
    body = ticket_body(order)
    receipt = through_proxy.tickets.create(body)
    # The last fault let the ticket through and lost the answer: the retry's 200 is this call's success.
    assert receipt.created
    assert proxy.behaviours_for("/tickets") == [*faults, "pass"]
    assert [t["id"] for t in stored_tickets(client, reseller)] == [body["id"]]
    assert len(fake_time.sleeps) == len(faults)
    assert fake_time.sleeps == sorted(fake_time.sleeps)  # backing off: each wait at least as long


def test_429_honours_retry_after(
    through_proxy: Client,
    proxy: FaultProxy,
    client: httpx.Client,
    reseller: Reseller,
    order: dict[str, Any],
    fake_time: FakeTime,
) -> None:
    proxy.script = ["429", "429"]
    receipt = through_proxy.tickets.create(ticket_body(order))
    assert receipt.created
    assert proxy.behaviours_for("/tickets") == ["429", "429", "pass"]
    assert len(stored_tickets(client, reseller)) == 1
    assert sum(fake_time.sleeps) >= 2.0  # Retry-After: 1, twice


def test_a_reply_is_not_sent_twice(
    through_proxy: Client, proxy: FaultProxy, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
) -> None:
    ticket = through_proxy.tickets.create(ticket_body(order)).ticket
    proxy.script = ["drop_after"]
    with pytest.raises(ConnectionFailed):
        through_proxy.tickets.reply(ticket.id, "Only once, please.")
    messages = client.get(f"/tickets/{ticket.id}", headers=reseller.headers).json()["messages"]
    assert [m["body"] for m in messages] == ["Only once, please."]


def test_a_reply_is_retried_when_it_never_reached_the_server(
    through_proxy: Client, proxy: FaultProxy, order: dict[str, Any]
) -> None:
    ticket = through_proxy.tickets.create(ticket_body(order)).ticket
    proxy.script = ["429"]
    answered = through_proxy.tickets.reply(ticket.id, "Hello.")
    assert [m.body for m in answered.messages] == ["Hello."]


def test_retries_give_up_with_the_last_error(through_proxy: Client, proxy: FaultProxy) -> None:
    proxy.script = ["500"] * 4
    with pytest.raises(ServerError) as caught:
        through_proxy.reasons()
    assert caught.value.status == 500
    proxy.script = ["slow_after"] * 4
    with pytest.raises(TimedOut):
        through_proxy.reasons()
    assert proxy.behaviours_for("/reasons") == ["500"] * 4 + ["slow_after"] * 4
