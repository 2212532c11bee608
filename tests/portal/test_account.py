"""The portal's account page over HTTP: keys by their last characters only, webhook endpoints and their
deliveries, the callback secret only on a CSRF-checked POST, tenancy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from claimdesk.accounts.keys import rotate_key
from claimdesk.db import Database
from claimdesk.webhooks.delivery import AttemptResult
from claimdesk.webhooks.service import record_attempt
from tests.factories import Reseller, new_reseller, new_staff
from tests.web.conftest import csrf_of, sign_in
from tests.web.test_sign_in import new_user

HOOK: dict[str, Any] = {
    "url": "https://reseller.example/hooks/claimdesk",
    "events": ["ticket.status_changed", "ticket.created"],
}


def _signed_in(client: httpx.Client, db: Database, reseller: Reseller) -> None:
    email, password = new_user(db, reseller.id, email=f"dev{reseller.id}@reseller.example")
    assert sign_in(client, email, password).status_code == 303


def test_keys_by_their_last_characters_endpoints_and_deliveries(client: httpx.Client, db: Database) -> None:
    mine = new_reseller(db, "Print & <Co>")
    assert client.get("/account", headers=mine.headers).status_code == 200  # the key's first use
    with db.transaction() as session:
        rotation = rotate_key(session, mine.id, grace=dt.timedelta(hours=24))
    made = client.post("/webhooks", json=HOOK, headers=mine.headers)
    assert made.status_code == 201, made.text
    endpoint = made.json()
    test = client.post(f"/webhooks/{endpoint['id']}/test", headers=mine.headers)
    assert test.status_code == 202, test.text
    delivery_id = test.json()["delivery"]["id"]
    db.write(
        record_attempt, delivery_id, AttemptResult(503, 120, None), disable_after=dt.timedelta(days=3), notify=False
    )
    _signed_in(client, db, mine)

    page = client.get("/portal/account")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert "Print &amp; &lt;Co&gt;" in html
    for key in (mine.key, rotation.key):
        assert key not in html
        assert key[4:12] not in html  # nor the prefix kept to look keys up: only kind and last characters
        assert f"cdk_…{key[-4:]}" in html
    assert html.index(f"cdk_…{rotation.key[-4:]}") < html.index(f"cdk_…{mine.key[-4:]}")  # newest first
    assert html.count("Stops working") == 1  # the old key, in its grace period
    assert html.count("Never") == 1  # the new key; the old one was used above
    assert HOOK["url"] in html
    assert "ticket.created" in html
    assert endpoint["secret"] not in html
    assert "webhook.test" in html
    assert "HTTP 503" in html
    assert mine.callback_secret not in html
    assert 'action="/portal/account/callback-secret' in html
    assert 'href="/portal/account" aria-current="page"' in html


def test_the_callback_secret_only_on_a_post_with_the_csrf_token(client: httpx.Client, db: Database) -> None:
    mine = new_reseller(db)
    _signed_in(client, db, mine)
    token = csrf_of(client.get("/portal/account"))

    assert client.post("/portal/account/callback-secret").status_code in (400, 403)
    wrong = client.post("/portal/account/callback-secret", data={"csrf_token": "x" + token})
    assert wrong.status_code == 403
    assert mine.callback_secret not in wrong.text

    shown = client.post("/portal/account/callback-secret", data={"csrf_token": token})
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert f">{mine.callback_secret}</textarea>" in shown.text
    assert mine.callback_secret not in client.get("/portal/account").text


def test_another_accounts_endpoints_stay_hidden_and_staff_are_not_served(client: httpx.Client, db: Database) -> None:
    mine, theirs = new_reseller(db), new_reseller(db)
    made = client.post("/webhooks", json={**HOOK, "url": "https://theirs.example/hook"}, headers=theirs.headers)
    assert made.status_code == 201, made.text
    _signed_in(client, db, mine)
    page = client.get("/portal/account").text
    assert "theirs.example" not in page
    assert theirs.callback_secret not in page
    assert "No webhook endpoints yet — register one with POST /webhooks" in page
    assert 'href="/docs"' in page
    assert "No deliveries yet" in page
    token = csrf_of(client.get("/portal/account"))
    assert theirs.callback_secret not in client.post("/portal/account/callback-secret", data={"csrf_token": token}).text
    assert client.get("/console").status_code == 403

    client.cookies.clear()
    staff = new_staff(db)
    sign_in(client, staff.email, staff.password)
    assert client.get("/portal/account").headers["location"] == "/console"
    token = csrf_of(client.get("/console"))
    answer = client.post("/portal/account/callback-secret", data={"csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console"
    assert mine.callback_secret not in answer.text
