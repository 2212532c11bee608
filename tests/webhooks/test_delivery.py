"""Deliveries through the real worker code to a real receiver on 127.0.0.1: signatures, retries, timeouts,
redirects, crashes and concurrent workers, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest
import sqlalchemy as sa

from claimdesk import jobs
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.models import Job, Message, Ticket, WebhookDelivery, WebhookEndpoint
from claimdesk.rules.events import EventType
from claimdesk.tickets.lifecycle import record_ticket_event
from tests.factories import new_reseller

from .support import Receiver, drain, file_ticket, make_due, queued, register_webhook

MAX_ATTEMPTS = 4


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "retry_base_seconds": 0.001,
            "allow_private_urls": True,
            "webhook_max_attempts": MAX_ATTEMPTS,
            "webhook_timeout_seconds": 0.5,
        }
    )


def change_status(db: Database, number: int, status: str, message: str | None = None) -> None:
    """What the staff status endpoint does, as far as events go."""
    with db.transaction() as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None
        ticket.status = status
        if message is not None:
            session.add(Message(ticket_id=ticket.id, body=message, by_type="staff", by_name="Agent Smith"))
        record_ticket_event(session, ticket, EventType.TICKET_STATUS_CHANGED)


def deliveries(db: Database) -> list[WebhookDelivery]:
    with db.session() as session:
        return list(session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)))


class TestFanOut:
    def test_event_reaches_subscribers_and_callback_urls_signed_with_their_secrets(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook", ["ticket.created"])
        register_webhook(client, reseller, f"{receiver.url}/other", ["ticket.status_changed"])
        ticket = file_ticket(client, reseller, callback_urls=[f"{receiver.url}/callback"])

        drain(db, settings)

        [to_hook] = receiver.for_path("/hook")
        [to_callback] = receiver.for_path("/callback")
        assert receiver.for_path("/other") == []
        payload = to_hook.verify(hook["secret"])
        assert to_callback.verify(reseller.callback_secret) == payload
        with pytest.raises(Exception, match="signature"):
            to_callback.verify(hook["secret"])
        assert set(payload) == {"type", "timestamp", "data"}
        assert payload["type"] == "ticket.created"
        assert payload["data"]["sequence"] == 1
        assert isinstance(payload["data"]["event_id"], int)
        assert payload["data"]["ticket"] == client.get(f"/tickets/{ticket['id']}", headers=reseller.headers).json()
        assert to_hook.headers["webhook-id"] == f"msg_{payload['data']['event_id']}"
        assert to_hook.headers["content-type"] == "application/json"

    def test_sequence_numbers_count_the_tickets_events(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        ticket = file_ticket(client, reseller)
        change_status(db, ticket["number"], "pending")
        change_status(db, ticket["number"], "holding", message="Please send a photo.")

        drain(db, settings)

        payloads = sorted((r.verify(hook["secret"]) for r in receiver.received), key=lambda p: p["data"]["sequence"])
        assert [p["data"]["sequence"] for p in payloads] == [1, 2, 3]
        assert [p["type"] for p in payloads] == ["ticket.created", "ticket.status_changed", "ticket.status_changed"]
        assert [p["data"]["ticket"]["status"] for p in payloads] == ["open", "pending", "holding"]
        assert payloads[2]["data"]["ticket"]["messages"][-1]["body"] == "Please send a photo."

    def test_dispatching_twice_makes_no_second_delivery(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        register_webhook(client, reseller, f"{receiver.url}/hook")
        file_ticket(client, reseller, callback_urls=[f"{receiver.url}/callback"])
        [dispatch] = queued(db, "dispatch_event")
        with db.transaction() as session:
            jobs.enqueue(session, jobs.JobName.DISPATCH_EVENT, dispatch.ref_id)

        drain(db, settings)

        assert sorted(d.target.split(":")[0] for d in deliveries(db)) == ["callback", "endpoint"]
        assert len(receiver.received) == 2

    def test_intake_only_queues_the_dispatch(self, client: httpx.Client, db: Database, receiver: Receiver) -> None:
        reseller = new_reseller(db)
        register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["slow"]
        file_ticket(client, reseller)
        assert [job.kind for job in queued(db)] == ["dispatch_event"]
        assert receiver.received == []

    def test_no_email_is_queued_without_smtp(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        ticket = file_ticket(client, reseller)
        change_status(db, ticket["number"], "pending", message="On it.")
        drain(db, settings)
        with db.session() as session:
            assert session.scalar(sa.select(sa.func.count()).where(Job.kind == "send_email")) == 0


class TestRetries:
    def test_failures_are_retried_with_the_same_webhook_id(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["503", "503"]
        file_ticket(client, reseller)

        drain(db, settings)

        assert len(receiver.received) == 3
        assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
        for request in receiver.received:
            request.verify(hook["secret"])
        response = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers)
        [delivery] = response.json()["deliveries"]
        assert delivery["state"] == "delivered"
        assert [a["status_code"] for a in delivery["attempts"]] == [503, 503, 200]
        assert [a["number"] for a in delivery["attempts"]] == [1, 2, 3]
        assert delivery["attempts"][0]["error"] == "answered 503: unavailable"
        assert delivery["attempts"][2]["error"] is None
        assert all(a["latency_ms"] >= 0 for a in delivery["attempts"])

    def test_a_slow_answer_times_out_and_is_retried(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["slow"]
        file_ticket(client, reseller)

        drain(db, settings)

        [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers).json()["deliveries"]
        assert delivery["state"] == "delivered"
        first, second = delivery["attempts"]
        assert first["status_code"] is None
        assert first["error"].startswith("timed out after")
        assert second["status_code"] == 200

    def test_an_answer_trickling_in_is_cut_at_the_attempts_deadline(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["drip"]
        file_ticket(client, reseller)

        drain(db, settings)

        [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers).json()["deliveries"]
        first, second = delivery["attempts"]
        assert first["status_code"] is None
        assert first["error"].startswith("timed out after")
        assert second["status_code"] == 200

    def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["redirect"]
        file_ticket(client, reseller)

        drain(db, settings)

        assert receiver.redirect_hits == 0
        assert receiver.for_path("/elsewhere") == []
        [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers).json()["deliveries"]
        first, second = delivery["attempts"]
        assert first["status_code"] == 307
        assert "not followed" in first["error"]
        assert second["status_code"] == 200

    def test_a_huge_answer_is_not_read_to_its_end(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["huge"]
        file_ticket(client, reseller)

        drain(db, settings)

        [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers).json()["deliveries"]
        first, second = delivery["attempts"]
        assert first["status_code"] == 500
        assert first["error"] == "answered 500: " + "x" * 200
        assert second["status_code"] == 200

    def test_after_the_last_attempt_the_delivery_is_failed(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["503"] * 10
        file_ticket(client, reseller)

        drain(db, settings)

        assert len(receiver.received) == MAX_ATTEMPTS
        [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers).json()["deliveries"]
        assert delivery["state"] == "failed"
        assert delivery["finished_at"] is not None
        assert len(delivery["attempts"]) == MAX_ATTEMPTS
        with db.session() as session:
            job = session.scalar(sa.select(Job).where(Job.kind == "deliver_webhook"))
            assert job is not None
            assert job.state == "failed"

    def test_a_private_address_is_refused_at_send_time(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        file_ticket(client, reseller)

        drain(db, settings.model_copy(update={"allow_private_urls": False}))

        assert receiver.received == []
        [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers).json()["deliveries"]
        assert delivery["state"] == "failed"
        assert all(a["error"].startswith("url_not_allowed") for a in delivery["attempts"])


class TestCrashesAndConcurrency:
    def test_a_worker_crash_between_attempts_loses_no_delivery(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["503"]
        file_ticket(client, reseller)
        runner = jobs.Runner(db, settings, "first")
        for job in jobs.claim(db, "first", 10):
            runner.run(job)  # the dispatch
        [attempt] = jobs.claim(db, "first", 10)
        runner.run(attempt)  # 503: retried later
        assert len(receiver.received) == 1
        # The next worker claims the retry (its backoff of a few milliseconds skipped, as drain does) and dies
        # before sending: its lease runs out (here: at once).
        make_due(db)
        [stale] = jobs.claim(db, "crashed", 10, lease_seconds=-1)

        drain(db, settings, "survivor")

        assert len(receiver.received) == 2
        assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
        # Should the crashed worker wake up after all, it sends nothing and changes nothing.
        jobs.Runner(db, settings, "crashed").run(stale)
        assert len(receiver.received) == 2
        [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers).json()["deliveries"]
        assert delivery["state"] == "delivered"
        assert [a["status_code"] for a in delivery["attempts"]] == [503, 200]

    def test_two_workers_never_deliver_the_same_attempt_twice(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        register_webhook(client, reseller, f"{receiver.url}/hook")
        tickets = [file_ticket(client, reseller) for _ in range(12)]
        errors: list[BaseException] = []

        def work(name: str) -> None:
            try:
                drain(db, settings, name, batch=2)
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        drain(db, settings)

        assert errors == []
        ids = Counter(r.headers["webhook-id"] for r in receiver.received)
        assert len(ids) == len(tickets)
        assert set(ids.values()) == {1}
        assert {d.state for d in deliveries(db)} == {"delivered"}


class TestEndpointHealth:
    def test_an_endpoint_failing_for_the_whole_period_is_disabled(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["503"] * 10
        ticket = file_ticket(client, reseller)

        drain(db, settings.model_copy(update={"webhook_disable_after_seconds": 0}))

        assert len(receiver.received) == 1
        [shown] = client.get("/webhooks", headers=reseller.headers).json()["webhooks"]
        assert shown["enabled"] is False
        assert shown["disabled_at"] is not None
        [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers).json()["deliveries"]
        assert delivery["state"] == "failed"
        # Nothing more goes to it until it is enabled again.
        change_status(db, ticket["number"], "pending")
        drain(db, settings)
        assert len(receiver.received) == 1
        receiver.script.clear()
        enabled = client.post(f"/webhooks/{hook['id']}/enable", headers=reseller.headers)
        assert enabled.json()["enabled"] is True
        change_status(db, ticket["number"], "holding")
        drain(db, settings)
        assert len(receiver.received) == 2

    def test_a_success_resets_the_failing_period(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["503"]
        file_ticket(client, reseller)
        drain(db, settings)
        with db.session() as session:
            endpoint = session.scalar(sa.select(WebhookEndpoint))
            assert endpoint is not None
            assert endpoint.failing_since is None
            assert endpoint.disabled_at is None

    def test_deleting_an_endpoint_drops_its_queued_deliveries(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        file_ticket(client, reseller)
        runner = jobs.Runner(db, settings, "w")
        for job in jobs.claim(db, "w", 10):
            runner.run(job)  # the dispatch: one delivery queued
        assert client.delete(f"/webhooks/{hook['id']}", headers=reseller.headers).status_code == 204
        drain(db, settings)
        assert receiver.received == []
        assert deliveries(db) == []
