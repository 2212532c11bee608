"""The /webhooks endpoints through the real HTTP server: one class per endpoint."""

from __future__ import annotations

import httpx
import pytest
from standardwebhooks import Webhook

from claimdesk.config import Settings
from claimdesk.db import Database
from tests.factories import new_reseller, new_staff

from .support import Receiver, drain, file_ticket, register_webhook


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "retry_base_seconds": 0.001,
            "allow_private_urls": True,
            "webhook_max_attempts": 3,
            "webhook_timeout_seconds": 0.5,
        }
    )


HOOK = {"url": "https://reseller.example/hooks", "events": ["ticket.status_changed"]}


class TestCreateWebhook:
    def test_anonymous(self, client: httpx.Client) -> None:
        assert client.post("/webhooks", json=HOOK).status_code == 401

    def test_staff_key(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        assert client.post("/webhooks", json=HOOK, headers=staff.headers).status_code == 403

    def test_missing_fields(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        response = client.post("/webhooks", json={}, headers=reseller.headers)
        assert response.status_code == 422
        assert [(e["loc"], e["code"]) for e in response.json()["errors"]] == [
            ("url", "required"),
            ("events", "required"),
        ]

    @pytest.mark.parametrize(
        ("body", "loc", "code"),
        [
            ({"url": "ftp://reseller.example/x", "events": ["ticket.created"]}, "url", "invalid_uri"),
            ({"url": "not a url", "events": ["ticket.created"]}, "url", "invalid_uri"),
            ({"url": "", "events": ["ticket.created"]}, "url", "too_short"),
            ({"url": 5, "events": ["ticket.created"]}, "url", "invalid_type"),
            ({"url": "https://reseller.example/h", "events": []}, "events", "too_few"),
            ({"url": "https://reseller.example/h", "events": ["ticket.deleted"]}, "events.0", "invalid_choice"),
            ({"url": "https://reseller.example/h", "events": "ticket.created"}, "events", "invalid_type"),
            ({"url": "https://reseller.example/h", "events": ["ticket.created"], "secret": "x"}, "secret", None),
        ],
    )
    def test_invalid(self, client: httpx.Client, db: Database, body: object, loc: str, code: str | None) -> None:
        reseller = new_reseller(db)
        response = client.post("/webhooks", json=body, headers=reseller.headers)
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["loc"] == loc
        assert error["code"] == (code or "unknown_field")

    @pytest.mark.parametrize(
        "body",
        [
            0,
            [],
            "x",
            {"url": None, "events": None},
            {"url": "https://bücher.example/h", "events": [None, 1, {}]},
            {"url": "https://" + "a" * 3000 + ".example/", "events": ["ticket.created"]},
            {"url": "https://x.example:99999/", "events": ["ticket.created"]},
            {"url": "https://x.example/\u0000", "events": ["ticket.created"] * 50},
        ],
    )
    def test_odd_bodies_are_422_never_500(self, client: httpx.Client, db: Database, body: object) -> None:
        reseller = new_reseller(db)
        response = client.post("/webhooks", json=body, headers=reseller.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"]

    def test_at_most_twenty_endpoints(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        for index in range(20):
            register_webhook(client, reseller, f"https://reseller.example/{index}")
        response = client.post("/webhooks", json=HOOK, headers=reseller.headers)
        assert response.status_code == 409
        assert "at most 20" in response.json()["error"]

    def test_not_json(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        response = client.post(
            "/webhooks", content=b"{", headers={**reseller.headers, "content-type": "application/json"}
        )
        assert response.status_code == 400

    def test_valid(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        body = {
            "url": "https://reseller.example/hooks",
            "events": ["ticket.created", "ticket.created", "ticket.file_failed"],
        }
        response = client.post("/webhooks", json=body, headers=reseller.headers)
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["url"] == body["url"]
        assert created["events"] == ["ticket.created", "ticket.file_failed"]
        assert isinstance(created["id"], int)
        assert created["secret"].startswith("whsec_")
        Webhook(created["secret"])  # a valid Standard Webhooks secret

    def test_http_is_allowed_where_private_urls_are(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        body = {"url": "http://127.0.0.1:9/hook", "events": ["ticket.created"]}
        assert client.post("/webhooks", json=body, headers=reseller.headers).status_code == 201


class TestListWebhooks:
    def test_anonymous(self, client: httpx.Client) -> None:
        assert client.get("/webhooks").status_code == 401

    def test_lists_own_without_secrets(self, client: httpx.Client, db: Database) -> None:
        reseller, other = new_reseller(db), new_reseller(db)
        mine = register_webhook(client, reseller, "https://reseller.example/a")
        register_webhook(client, other, "https://other.example/b")
        response = client.get("/webhooks", headers=reseller.headers)
        assert response.status_code == 200
        [shown] = response.json()["webhooks"]
        assert shown["id"] == mine["id"]
        assert shown["url"] == mine["url"]
        assert shown["enabled"] is True
        assert "secret" not in shown

    def test_get_one(self, client: httpx.Client, db: Database) -> None:
        reseller, other = new_reseller(db), new_reseller(db)
        mine = register_webhook(client, reseller, "https://reseller.example/a")
        assert client.get(f"/webhooks/{mine['id']}", headers=reseller.headers).json()["url"] == mine["url"]
        assert client.get(f"/webhooks/{mine['id']}", headers=other.headers).status_code == 404


class TestDeleteWebhook:
    def test_anonymous(self, client: httpx.Client) -> None:
        assert client.delete("/webhooks/1").status_code == 401

    def test_other_tenant(self, client: httpx.Client, db: Database) -> None:
        reseller, other = new_reseller(db), new_reseller(db)
        hook = register_webhook(client, reseller, "https://reseller.example/a")
        assert client.delete(f"/webhooks/{hook['id']}", headers=other.headers).status_code == 404
        assert len(client.get("/webhooks", headers=reseller.headers).json()["webhooks"]) == 1

    @pytest.mark.parametrize("webhook_id", ["999999", "abc", "-1", "99999999999999999999999"])
    def test_not_found(self, client: httpx.Client, db: Database, webhook_id: str) -> None:
        reseller = new_reseller(db)
        response = client.delete(f"/webhooks/{webhook_id}", headers=reseller.headers)
        assert response.status_code == 404
        assert "error" in response.json()

    def test_valid(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, "https://reseller.example/a")
        response = client.delete(f"/webhooks/{hook['id']}", headers=reseller.headers)
        assert response.status_code == 204
        assert response.content == b""
        assert client.get("/webhooks", headers=reseller.headers).json()["webhooks"] == []


class TestRotateSecret:
    def test_other_tenant(self, client: httpx.Client, db: Database) -> None:
        reseller, other = new_reseller(db), new_reseller(db)
        hook = register_webhook(client, reseller, "https://reseller.example/a")
        assert client.post(f"/webhooks/{hook['id']}/rotate-secret", headers=other.headers).status_code == 404

    def test_old_and_new_secret_both_verify(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        response = client.post(f"/webhooks/{hook['id']}/rotate-secret", headers=reseller.headers)
        assert response.status_code == 200
        rotated = response.json()
        assert rotated["secret"].startswith("whsec_")
        assert rotated["secret"] != hook["secret"]
        assert rotated["previous_secret_expires_at"] is not None
        file_ticket(client, reseller)

        drain(db, settings)

        [request] = receiver.received
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        assert request.verify(rotated["secret"]) == request.verify(hook["secret"])


class TestTestWebhook:
    def test_other_tenant(self, client: httpx.Client, db: Database) -> None:
        reseller, other = new_reseller(db), new_reseller(db)
        hook = register_webhook(client, reseller, "https://reseller.example/a")
        assert client.post(f"/webhooks/{hook['id']}/test", headers=other.headers).status_code == 404

    def test_sends_a_signed_test_event(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        response = client.post(f"/webhooks/{hook['id']}/test", headers=reseller.headers)
        assert response.status_code == 202
        assert response.json()["delivery"]["state"] == "pending"

        drain(db, settings)

        [request] = receiver.received
        payload = request.verify(hook["secret"])
        assert payload["type"] == "webhook.test"
        assert payload["data"]["webhook_id"] == hook["id"]


class TestDeliveries:
    def test_anonymous(self, client: httpx.Client) -> None:
        assert client.get("/webhooks/1/deliveries").status_code == 401

    def test_other_tenant(self, client: httpx.Client, db: Database) -> None:
        reseller, other = new_reseller(db), new_reseller(db)
        hook = register_webhook(client, reseller, "https://reseller.example/a")
        assert client.get(f"/webhooks/{hook['id']}/deliveries", headers=other.headers).status_code == 404

    def test_invalid_limit(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, "https://reseller.example/a")
        response = client.get(f"/webhooks/{hook['id']}/deliveries?limit=0", headers=reseller.headers)
        assert response.status_code == 422
        assert response.json()["errors"][0] == {
            "loc": "limit",
            "code": "out_of_range",
            "message": response.json()["errors"][0]["message"],
        }

    def test_lists_attempts_and_all_deliveries_include_callbacks(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["503"]
        file_ticket(client, reseller, callback_urls=[f"{receiver.url}/callback"])
        drain(db, settings)

        [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers).json()["deliveries"]
        assert delivery["type"] == "ticket.created"
        assert delivery["webhook_id"] == hook["id"]
        assert len(delivery["attempts"]) in (1, 2)
        everything = client.get("/webhooks/deliveries", headers=reseller.headers).json()["deliveries"]
        assert sorted(d["kind"] for d in everything) == ["callback", "endpoint"]
        other = new_reseller(db)
        assert client.get("/webhooks/deliveries", headers=other.headers).json()["deliveries"] == []


class TestRedeliver:
    def test_other_tenant_and_not_found(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller, other = new_reseller(db), new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        file_ticket(client, reseller)
        drain(db, settings)
        [delivery] = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers).json()["deliveries"]
        assert client.post(f"/webhooks/deliveries/{delivery['id']}/redeliver", headers=other.headers).status_code == 404
        assert client.post("/webhooks/deliveries/999999/redeliver", headers=reseller.headers).status_code == 404
        assert client.post("/webhooks/deliveries/x/redeliver", headers=reseller.headers).status_code == 404

    def test_a_failed_delivery_is_sent_again_with_the_same_webhook_id(
        self, client: httpx.Client, db: Database, settings: Settings, receiver: Receiver
    ) -> None:
        reseller = new_reseller(db)
        hook = register_webhook(client, reseller, f"{receiver.url}/hook")
        receiver.script = ["503"] * settings.webhook_max_attempts
        file_ticket(client, reseller)
        drain(db, settings)
        [failed] = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers).json()["deliveries"]
        assert failed["state"] == "failed"

        response = client.post(f"/webhooks/deliveries/{failed['id']}/redeliver", headers=reseller.headers)
        assert response.status_code == 202
        assert response.json()["delivery"]["state"] == "pending"
        again = client.post(f"/webhooks/deliveries/{failed['id']}/redeliver", headers=reseller.headers)
        assert again.status_code == 409
        drain(db, settings)

        [delivered] = client.get(f"/webhooks/{hook['id']}/deliveries", headers=reseller.headers).json()["deliveries"]
        assert delivered["state"] == "delivered"
        assert len(delivered["attempts"]) == settings.webhook_max_attempts + 1
        assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
        receiver.received[-1].verify(hook["secret"])
