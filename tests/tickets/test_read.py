"""GET /tickets/{id} and GET /tickets: tenancy, filters, limits and a cursor that stays stable."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from claimdesk.db import Database
from claimdesk.models import Ticket
from tests.api.expect import refused
from tests.factories import Reseller, new_order, new_reseller, new_ticket


@pytest.fixture
def reseller(db: Database) -> Reseller:
    return new_reseller(db)


@pytest.fixture
def order(client: httpx.Client, reseller: Reseller) -> dict[str, Any]:
    return new_order(client, reseller, products=[{"id": i, "amount": 100} for i in range(1, 31)])


def file_missing(client: httpx.Client, reseller: Reseller, order: dict[str, Any], product: int, **extra: Any) -> Any:
    """A ticket without files (reason ``missing``) on one product line."""
    return new_ticket(client, reseller, order, reason="missing", products=[{"id": product, "amount": 1}], **extra)


def listing(client: httpx.Client, reseller: Reseller, **params: Any) -> dict[str, Any]:
    response = client.get("/tickets", params=params, headers=reseller.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestGetTicket:
    def test_anonymous_is_401(self, client: httpx.Client) -> None:
        assert client.get("/tickets/x").status_code == 401

    def test_own_ticket(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]) -> None:
        filed = file_missing(client, reseller, order, 1, id="complaint-77")
        response = client.get("/tickets/complaint-77", headers=reseller.headers)
        assert response.status_code == 200, response.text
        assert response.json() == filed

    def test_not_found(self, client: httpx.Client, reseller: Reseller) -> None:
        response = client.get("/tickets/nope", headers=reseller.headers)
        assert response.status_code == 404
        assert response.json()["error"]

    def test_another_accounts_ticket_is_404(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        file_missing(client, reseller, order, 1, id="complaint-77")
        other = new_reseller(db)
        mine = client.get("/tickets/does-not-exist", headers=other.headers)
        theirs = client.get("/tickets/complaint-77", headers=other.headers)
        assert theirs.status_code == mine.status_code == 404
        assert set(theirs.json()) == set(mine.json()) == {"error"}

    def test_odd_ids_are_404_not_500(self, client: httpx.Client, reseller: Reseller) -> None:
        for path in ["/tickets/%00", "/tickets/%ED%A0%80", "/tickets/" + "x" * 300, "/tickets/%FF"]:
            response = client.get(path, headers=reseller.headers)
            assert response.status_code == 404, (path, response.text)


class TestListTickets:
    def test_anonymous_is_401(self, client: httpx.Client) -> None:
        assert client.get("/tickets").status_code == 401

    def test_newest_first_own_tickets_only(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        ids = [file_missing(client, reseller, order, product)["id"] for product in (1, 2, 3)]
        other = new_reseller(db)
        file_missing(client, other, new_order(client, other, products=[{"id": 1, "amount": 5}]), 1)
        body = listing(client, reseller)
        assert [t["id"] for t in body["tickets"]] == ids[::-1]
        assert body["next_cursor"] is None
        assert body["tickets"][0] == client.get(f"/tickets/{ids[2]}", headers=reseller.headers).json()
        assert listing(client, new_reseller(db)) == {"tickets": [], "next_cursor": None}

    def test_filters(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database) -> None:
        other_order = new_order(client, reseller, products=[{"id": 1, "amount": 5}])
        missing = file_missing(client, reseller, order, 1)
        delayed = new_ticket(client, reseller, order, reason="delayed", products=[{"id": 2, "amount": 1}])
        on_other = file_missing(client, reseller, other_order, 1)
        with db.transaction() as session:
            session.execute(sa.update(Ticket).where(Ticket.external_id == delayed["id"]).values(status="pending"))

        def ids(**params: Any) -> list[str]:
            return [t["id"] for t in listing(client, reseller, **params)["tickets"]]

        assert ids(reason="missing") == [on_other["id"], missing["id"]]
        assert ids(reason="delayed") == [delayed["id"]]
        assert ids(status="pending") == [delayed["id"]]
        assert ids(status="open") == [on_other["id"], missing["id"]]
        assert ids(status="solved") == []
        assert ids(order_id=other_order["id"]) == [on_other["id"]]
        assert ids(order_id=order["id"], reason="missing") == [missing["id"]]
        assert ids(order_id="no-such-order") == []

    def test_updated_since_is_inclusive(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any], db: Database
    ) -> None:
        old = file_missing(client, reseller, order, 1)
        new = file_missing(client, reseller, order, 2)
        moment = dt.datetime(2030, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)
        with db.transaction() as session:
            session.execute(
                sa.update(Ticket)
                .where(Ticket.external_id == old["id"])
                .values(updated_at=moment - dt.timedelta(seconds=1))
            )
            session.execute(sa.update(Ticket).where(Ticket.external_id == new["id"]).values(updated_at=moment))

        def ids(since: str) -> list[str]:
            return [t["id"] for t in listing(client, reseller, updated_since=since)["tickets"]]

        assert ids("2030-01-02T03:04:05.123456Z") == [new["id"]]
        assert ids("2030-01-02T04:04:05.123456+01:00") == [new["id"]]  # the same moment in another zone
        assert ids("2030-01-02T03:04:04.123456Z") == [new["id"], old["id"]]
        assert ids("2030-01-02T03:04:05.123457Z") == []
        shown = client.get(f"/tickets/{new['id']}", headers=reseller.headers).json()["updated_at"]
        assert ids(shown) == [new["id"]]  # a time the service showed is a time it accepts

    @pytest.mark.parametrize(
        "since",
        [
            "yesterday",
            "2030-01-02",
            "2030-01-02T03:04:05",
            "2030-13-02T03:04:05Z",
            "",
            # Valid RFC 3339 whose moment falls outside what a time can hold in UTC (found by the long fuzz run:
            # a 500 before).
            "0001-01-01T01:00:00+01:01",
            "9999-12-31T23:30:00-01:00",
        ],
    )
    def test_updated_since_must_be_rfc3339(self, client: httpx.Client, reseller: Reseller, since: str) -> None:
        response = client.get("/tickets", params={"updated_since": since}, headers=reseller.headers)
        assert refused(response) == [("updated_since", "invalid_type")]

    @pytest.mark.parametrize(
        ("limit", "code"),
        [
            ("0", "out_of_range"),
            ("201", "out_of_range"),
            ("-1", "out_of_range"),
            ("abc", "invalid_type"),
            ("1.5", "invalid_type"),
            ("", "invalid_type"),
            ("99999999999999999999999", "out_of_range"),
        ],
    )
    def test_limit_outside_1_to_200(self, client: httpx.Client, reseller: Reseller, limit: str, code: str) -> None:
        response = client.get("/tickets", params={"limit": limit}, headers=reseller.headers)
        assert refused(response) == [("limit", code)]

    @pytest.mark.parametrize(("param", "value"), [("status", "closed"), ("reason", "broken")])
    def test_bad_choices(self, client: httpx.Client, reseller: Reseller, param: str, value: str) -> None:
        response = client.get("/tickets", params={param: value}, headers=reseller.headers)
        assert refused(response) == [(param, "invalid_choice")]

    def test_order_id_with_nul(self, client: httpx.Client, reseller: Reseller) -> None:
        response = client.get("/tickets", params={"order_id": "a\x00"}, headers=reseller.headers)
        assert refused(response) == [("order_id", "invalid_text")]

    def test_every_bad_parameter_at_once(self, client: httpx.Client, reseller: Reseller) -> None:
        response = client.get("/tickets", params={"limit": "0", "status": "x", "cursor": "!"}, headers=reseller.headers)
        assert sorted(refused(response)) == [
            ("cursor", "invalid_type"),
            ("limit", "out_of_range"),
            ("status", "invalid_choice"),
        ]

    @pytest.mark.parametrize("cursor", ["garbage", "!!!", "eyJiZWZvcmUiOiAieCJ9", "e30", "bnVsbA", "%00"])
    def test_bad_cursor(self, client: httpx.Client, reseller: Reseller, cursor: str) -> None:
        response = client.get("/tickets", params={"cursor": cursor}, headers=reseller.headers)
        assert refused(response) == [("cursor", "invalid_type")]

    def test_limits_1_and_200(self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]) -> None:
        for product in (1, 2):
            file_missing(client, reseller, order, product)
        assert len(listing(client, reseller, limit="1")["tickets"]) == 1
        assert len(listing(client, reseller, limit="200")["tickets"]) == 2

    def test_pages_stay_stable_while_tickets_are_added(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        filed = [file_missing(client, reseller, order, product)["id"] for product in range(1, 8)]
        seen: list[str] = []
        page = listing(client, reseller, limit="3")
        product = 8
        while True:
            seen += [t["id"] for t in page["tickets"]]
            # New tickets arrive between pages; they are newer than the cursor and never shift a page.
            filed.append(file_missing(client, reseller, order, product)["id"])
            product += 1
            if page["next_cursor"] is None:
                break
            page = listing(client, reseller, limit="3", cursor=page["next_cursor"])
        assert seen == filed[:7][::-1]
        assert len(seen) == len(set(seen))
        # Starting over shows everything, each once.
        everything = listing(client, reseller, limit="200")["tickets"]
        assert [t["id"] for t in everything] == filed[::-1]

    def test_cursor_keeps_the_filters_given(
        self, client: httpx.Client, reseller: Reseller, order: dict[str, Any]
    ) -> None:
        for product in range(1, 6):
            file_missing(client, reseller, order, product)
            new_ticket(client, reseller, order, reason="delayed", products=[{"id": product + 10, "amount": 1}])
        first = listing(client, reseller, limit="2", reason="delayed")
        second = listing(client, reseller, limit="2", reason="delayed", cursor=first["next_cursor"])
        third = listing(client, reseller, limit="2", reason="delayed", cursor=second["next_cursor"])
        reasons = {t["reason"] for page in (first, second, third) for t in page["tickets"]}
        assert reasons == {"delayed"}
        assert sum(len(page["tickets"]) for page in (first, second, third)) == 5
        assert third["next_cursor"] is None
