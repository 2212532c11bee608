"""Every route with a ticket in its path answers an id no ticket can have with the same 404 as an unknown one:
NUL and other control characters, a lone surrogate, 10,000 characters, odd percent-encodings. On PostgreSQL a
NUL reaching a query is a database error, so these are tried on both databases."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from claimdesk.db import Database
from claimdesk.exceptions import NotFound
from claimdesk.tickets import lookup
from tests.api.expect import problems
from tests.lifecycle.support import World, world

# As written in the URL's path: the server decodes the percent-encodings.
ODD_IDS = {
    "nul": "a%00b",
    "only-nul": "%00",
    "control": "a%01b",
    "delete": "a%7Fb",
    "c1-control": "a%C2%85b",
    "encoded-surrogate": "a%ED%A0%80b",  # UTF-8 of U+D800: not valid UTF-8
    "overlong-nul": "a%C0%80b",
    "bad-utf8": "a%FFb",
    "long": "x" * 10_000,
    "long-encoded": "%41" * 3_000,
    "percent": "%25",
    "encoded-space": "%20",
    # A plain ".." is resolved by the client before sending (RFC 3986): /tickets/.. is "/", the web UI's
    # home, and never reaches a ticket route (tests/api/test_schemathesis.py sends it anyway). Encoded, it does.
    "encoded-dots": "%2E%2E",
}

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
UPLOAD = [("files", ("a.png", PNG, "image/png"))]
# Staff address tickets by number: these are no number (and "%31", the number 1, would be found).
ODD_NUMBERS = {
    **ODD_IDS,
    "number-nul": "1%00",
    "encoded-digit-nul": "%31%00",
    "decimal": "1.0",
    "plus": "+1",
    "hex": "0x1",
}
NOT_IN_URLS = {"lone-high": "a\ud800b", "lone-low": "\udfff", "nul": "a\x00b", "empty": "", "65": "x" * 65}


def _reseller_routes(w: World) -> dict[str, Callable[[str], httpx.Response]]:
    headers = w.reseller.headers
    return {
        "get": lambda t: w.client.get(f"/tickets/{t}", headers=headers),
        "message": lambda t: w.client.post(f"/tickets/{t}/messages", json={"body": "Hello"}, headers=headers),
        "files": lambda t: w.client.post(f"/tickets/{t}/files", files=UPLOAD, data={"product": "17"}, headers=headers),
    }


def _staff_routes(w: World) -> dict[str, Callable[[str], httpx.Response]]:
    headers = w.staff.headers
    return {
        "get": lambda n: w.client.get(f"/staff/tickets/{n}", headers=headers),
        "message": lambda n: w.client.post(f"/staff/tickets/{n}/messages", json={"body": "Hello"}, headers=headers),
        "status": lambda n: w.client.post(f"/staff/tickets/{n}/status", json={"status": "pending"}, headers=headers),
        "assign": lambda n: w.client.post(f"/staff/tickets/{n}/assign", json={"assignee": "me"}, headers=headers),
    }


def _not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert problems(response) == []  # the contract's shape: an "error", no field problems


@pytest.mark.parametrize("ticket_id", ODD_IDS.values(), ids=ODD_IDS.keys())
def test_reseller_routes_answer_404(client: httpx.Client, db: Database, ticket_id: str) -> None:
    w = world(client, db)
    ticket = w.ticket()
    for name, call in _reseller_routes(w).items():
        _not_found(call(ticket_id))
        assert name  # the loop ran for every route
    # The service is still fine afterwards (no broken connection left in the pool).
    assert w.reseller_get(ticket["id"])["id"] == ticket["id"]


@pytest.mark.parametrize("number", ODD_NUMBERS.values(), ids=ODD_NUMBERS.keys())
def test_staff_routes_answer_404(client: httpx.Client, db: Database, number: str) -> None:
    w = world(client, db)
    ticket = w.ticket()
    for call in _staff_routes(w).values():
        _not_found(call(number))
    assert w.staff_get(ticket["number"])["status"] == "open"


def test_the_real_id_next_to_the_odd_ones_is_found(client: httpx.Client, db: Database) -> None:
    """The odd ids are refused for what they are, not because the routes refuse everything."""
    w = world(client, db)
    ticket = w.ticket(id="a b-é")  # a space and a non-ASCII letter are fine in an id
    assert w.client.get("/tickets/a%20b-%C3%A9", headers=w.reseller.headers).json()["number"] == ticket["number"]
    response = _reseller_routes(w)["message"]("a%20b-%C3%A9")
    assert response.status_code == 201, response.text
    assert w.client.get(f"/staff/tickets/{ticket['number']}", headers=w.staff.headers).status_code == 200


@pytest.mark.parametrize("for_update", [False, True])
@pytest.mark.parametrize("external_id", NOT_IN_URLS.values(), ids=NOT_IN_URLS.keys())
def test_the_lookup_refuses_what_the_url_cannot_carry(db: Database, external_id: str, for_update: bool) -> None:
    """Lone surrogates cannot come through a URL (the server decodes bytes as UTF-8), but other callers of the
    lookup (the web UI's forms) could pass them; the message quotes the id escaped, so the answer encodes."""
    with db.transaction() as session:
        with pytest.raises(NotFound) as caught:
            lookup.reseller_ticket(session, 1, external_id, for_update=for_update)
        caught.value.message.encode("utf-8")
        assert "\x00" not in caught.value.message
        with pytest.raises(NotFound):
            lookup.numbered_ticket(session, external_id, for_update=for_update)
