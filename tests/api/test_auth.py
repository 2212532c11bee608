"""Authentication: Bearer, Basic with the key as it is, standard Basic with an empty password; 401 and 403."""

from __future__ import annotations

import base64

import httpx
import pytest

from claimdesk.db import Database
from tests.factories import Reseller, new_reseller, new_staff

RESELLER_ENDPOINTS = [
    ("GET", "/account"),
    ("GET", "/tickets"),
    ("GET", "/tickets/some-id"),
    ("POST", "/tickets"),
    ("POST", "/tickets/validate"),
    ("POST", "/order"),
    ("POST", "/order/status"),
]


@pytest.fixture
def reseller(db: Database) -> Reseller:
    return new_reseller(db, "Print Partners")


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


class TestAuthentication:
    @pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
    def test_bearer(self, client: httpx.Client, reseller: Reseller, scheme: str) -> None:
        response = client.get("/account", headers={"Authorization": f"{scheme} {reseller.key}"})
        assert response.status_code == 200, response.text
        assert response.json()["id"] == reseller.id

    def test_basic_with_the_key_as_it_is(self, client: httpx.Client, reseller: Reseller) -> None:
        response = client.get("/account", headers={"Authorization": f"Basic {reseller.key}"})
        assert response.status_code == 200, response.text

    def test_standard_basic_with_empty_password(self, client: httpx.Client, reseller: Reseller) -> None:
        response = client.get("/account", headers={"Authorization": basic(f"{reseller.key}:")})
        assert response.status_code == 200, response.text
        # httpx's own Basic auth sends exactly that.
        assert client.get("/account", auth=(reseller.key, "")).status_code == 200

    @pytest.mark.parametrize(("method", "path"), RESELLER_ENDPOINTS)
    def test_missing_key_is_401_json(self, client: httpx.Client, method: str, path: str) -> None:
        response = client.request(method, path, json={})
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]
        assert response.headers["www-authenticate"].lower().startswith("bearer")

    @pytest.mark.parametrize(
        "header",
        [
            "Bearer cdk_wrong",
            "Bearer",
            "Token {key}",
            "{key}",
            "Basic " + base64.b64encode(b"cdk_wrong:").decode(),
            "Basic !!!not-base64!!!",
            "Bearer {key}x",
            "Bearer {key} {key}",
        ],
    )
    def test_wrong_key_is_401_json(self, client: httpx.Client, reseller: Reseller, header: str) -> None:
        response = client.get("/account", headers={"Authorization": header.format(key=reseller.key)})
        assert response.status_code == 401, response.text
        assert response.json()["error"]

    def test_password_is_not_a_key(self, client: httpx.Client, reseller: Reseller) -> None:
        """Standard Basic takes the key as user name; a key given as the password does not count."""
        assert client.get("/account", headers={"Authorization": basic(f"user:{reseller.key}")}).status_code == 401

    def test_non_ascii_header_is_401(self, client: httpx.Client) -> None:
        response = client.get("/account", headers={b"Authorization": "Bearer cl\u00e9".encode()})
        assert response.status_code == 401


class TestStaffKeys:
    @pytest.mark.parametrize(("method", "path"), RESELLER_ENDPOINTS)
    def test_staff_key_on_reseller_endpoints_is_403(
        self, client: httpx.Client, db: Database, method: str, path: str
    ) -> None:
        staff = new_staff(db)
        response = client.request(method, path, json={}, headers=staff.headers)
        assert response.status_code == 403, response.text
        assert response.json()["error"]

    def test_staff_may_read_the_catalogue(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        assert client.get("/reasons", headers=staff.headers).status_code == 200
        assert client.get("/solutions", headers=staff.headers).status_code == 200


class TestAccount:
    def test_shape(self, client: httpx.Client, reseller: Reseller) -> None:
        response = client.get("/account", headers=reseller.headers)
        assert response.status_code == 200
        assert response.json() == {
            "id": reseller.id,
            "name": "Print Partners",
            "callback_secret": reseller.callback_secret,
        }
        assert reseller.callback_secret.startswith("whsec_")

    def test_each_key_sees_its_own_account(self, client: httpx.Client, reseller: Reseller, db: Database) -> None:
        other = new_reseller(db, "Other Prints")
        assert client.get("/account", headers=other.headers).json()["name"] == "Other Prints"
        assert client.get("/account", headers=reseller.headers).json()["name"] == "Print Partners"
