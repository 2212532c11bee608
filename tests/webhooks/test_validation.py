"""Webhook URLs with the contract's defaults: https only, no private addresses."""

from __future__ import annotations

import httpx
import pytest

from claimdesk.db import Database
from tests.factories import new_reseller


class TestCreateWebhookUrlRules:
    @pytest.mark.parametrize(
        ("url", "code"),
        [
            ("http://93.184.215.14/hook", "invalid_uri"),
            ("https://127.0.0.1/hook", "url_not_allowed"),
            ("https://localhost:8443/hook", "url_not_allowed"),
            ("https://10.1.2.3/hook", "url_not_allowed"),
            ("https://[::1]/hook", "url_not_allowed"),
            ("https://169.254.169.254/latest", "url_not_allowed"),
        ],
    )
    def test_refused(self, client: httpx.Client, db: Database, url: str, code: str) -> None:
        reseller = new_reseller(db)
        response = client.post("/webhooks", json={"url": url, "events": ["ticket.created"]}, headers=reseller.headers)
        assert response.status_code == 422, response.text
        assert [(e["loc"], e["code"]) for e in response.json()["errors"]] == [("url", code)]

    def test_public_https_is_accepted(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        body = {"url": "https://93.184.215.14/hook", "events": ["ticket.created"]}
        assert client.post("/webhooks", json=body, headers=reseller.headers).status_code == 201
