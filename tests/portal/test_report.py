"""The portal's report form over HTTP, and the intake's batch filing under it, on both databases.

One server per database for the module (each test makes its own account, user and order, so that they do
not see each other's tickets); the form is posted as a browser would post it (multipart, CSRF token).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import io
import itertools
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from PIL import Image

from claimdesk.accounts.service import Actor, ActorType
from claimdesk.accounts.users import add_user
from claimdesk.app import create_app
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.files.service import StoredContent
from claimdesk.files.storage import LocalStorage, original_key
from claimdesk.models import Event, EvidenceFile, Job, Ticket, TicketProduct, User
from claimdesk.portal.reporting import PHOTO_PURPOSE, PhotoSigner
from claimdesk.rules.codes import Code
from claimdesk.testing.postgres import PostgresServer
from claimdesk.testing.server import ThreadedServer
from claimdesk.tickets.service import FilingRefused, draft_ticket, file_tickets
from claimdesk.web.signing import sign
from tests.conftest import DATABASES, TEMPLATE
from tests.factories import Reseller, new_reseller, new_staff

_counter = itertools.count(1)
CUSTOMER = "end.customer@example.org"
CONTACT = "claims@reseller.example"
# The order every test reports on: three lines (an integer product id, a text one, another integer).
LINES = [
    {"id": 17, "code": "banner-510", "amount": 3},
    {"id": "flyer", "code": "flyer-a5", "amount": 500},
    {"id": 19, "code": "poster-a2", "amount": 10},
]


def png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Portal:
    url: str
    db: Database
    settings: Settings


@pytest.fixture(scope="module", params=DATABASES)
def portal(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    folder = tmp_path_factory.mktemp("portal")
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), folder / "claimdesk.db")
        url = f"sqlite:///{folder / 'claimdesk.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        url = server.create_database(f"t_{uuid.uuid4().hex[:12]}", template=TEMPLATE)
    settings = Settings(
        database_url=url,
        storage_dir=str(folder / "files"),
        rate_limit="100000/minute",
        secure_cookies=False,
        signin_limit_per_email="1000/15minutes",
        signin_limit_per_address="100000/15minutes",
        web_rate_limit_per_address="100000/minute",
    )
    db = Database(url)
    try:
        with ThreadedServer(create_app(settings, database=db, worker=False)) as running:
            yield Portal(running.url, db, settings)
    finally:
        db.dispose()


@dataclass
class Person:
    """A signed-in user of a fresh account, with an order of three lines."""

    http: httpx.Client
    reseller: Reseller
    user_id: int
    order_id: str

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers=self.reseller.headers, **kwargs)

    @property
    def order_url(self) -> str:
        return f"/portal/orders/{self.order_id}"

    def csrf(self) -> str:
        page = self.http.get(self.order_url)
        assert page.status_code == 200, page.text[:300]
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match is not None
        return match.group(1)

    def report(
        self, fields: dict[str, Any], files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    ) -> httpx.Response:
        data = {"csrf_token": self.csrf(), **fields}
        # Always multipart, as the browser sends this form (an empty file part when nothing is picked).
        parts = files or [("line-0-photos", ("", b"", "application/octet-stream"))]
        return self.http.post(f"{self.order_url}/report", data=data, files=parts)


def line(index: int, amount: int | str, reason: str, solution: str) -> dict[str, Any]:
    return {
        f"line-{index}-include": "on",
        f"line-{index}-amount": str(amount),
        f"line-{index}-reason": reason,
        f"line-{index}-solution": solution,
    }


@pytest.fixture
def person(portal: Portal) -> Iterator[Person]:
    reseller = new_reseller(portal.db)
    email = f"buyer{next(_counter)}-{uuid.uuid4().hex[:6]}@reseller.example"
    with portal.db.transaction() as session:
        made = add_user(session, reseller.id, email, password="a-long-test-password")
        user_id = made.user.id
    with httpx.Client(base_url=portal.url, timeout=30) as http:
        login = http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token is not None
        signed = http.post("/login", data={"email": email, "password": "a-long-test-password", "csrf_token": token[1]})
        assert signed.status_code == 303, signed.text[:300]
        order_id = f"PO-{next(_counter)}-{uuid.uuid4().hex[:6]}"
        made_order = http.post(
            "/order",
            json={"id": order_id, "customer_email": CUSTOMER, "products": LINES},
            headers=reseller.headers,
        )
        assert made_order.status_code == 201, made_order.text
        yield Person(http, reseller, user_id, order_id)


def counts(portal: Portal, account_id: int) -> dict[str, int]:
    """What a report writes: tickets, their lines, events and files of the account; every job and file."""
    with portal.db.session() as session:

        def count(query: Any) -> int:
            return int(session.scalar(query) or 0)

        tickets = sa.select(Ticket.id).where(Ticket.account_id == account_id)
        return {
            "tickets": count(sa.select(sa.func.count()).select_from(tickets.subquery())),
            "lines": count(sa.select(sa.func.count()).where(TicketProduct.ticket_id.in_(tickets))),
            "events": count(sa.select(sa.func.count()).where(Event.account_id == account_id)),
            "jobs": count(sa.select(sa.func.count()).select_from(Job)),
            "files": count(sa.select(sa.func.count()).select_from(EvidenceFile)),
        }


def errors_beside(page: str) -> dict[str, list[str]]:
    """The messages shown beside each control: {control id: [message, ...]}."""
    found: dict[str, list[str]] = {}
    for control, text in re.findall(r'<p class="field__error" id="([^"]+?)-error(?:-\d+)?">(.*?)</p>', page, re.S):
        message = re.sub(r"<[^>]+>", " ", text).replace("Error:", "", 1)
        found.setdefault(control, []).append(" ".join(html.unescape(message).split()))
    return found


def summary(page: str) -> list[tuple[str, str]]:
    block = re.search(r'<div class="error-summary".*?</ul>', page, re.S)
    assert block is not None, "no error summary"
    return [(target, html.unescape(text)) for target, text in re.findall(r'<a href="#([^"]+)">([^<]+)</a>', block[0])]


def filed_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 303, response.text[:2000]
    location = response.headers["location"]
    assert location.startswith("/portal/orders/")
    return re.findall(r"ticket=([^&]+)", location)


class TestFiling:
    def test_one_damaged_and_two_missing_are_two_tickets(self, portal: Portal, person: Person) -> None:
        fields = {
            "description": "The box was crushed.",
            "contact_email": CONTACT,
            **line(0, 1, "damaged", "rework"),
            **line(1, 2, "missing", "credit"),
            **line(2, 1, "missing", "credit"),
        }
        photo = png()
        response = person.report(fields, [("line-0-photos", ("torn.png", photo, "image/png"))])
        ids = filed_ids(response)
        assert len(ids) == 2
        assert all(re.fullmatch(r"web-[0-9a-f]{16}", i) for i in ids)

        tickets = {t["id"]: t for t in person.api("GET", "/tickets").json()["tickets"]}
        assert set(tickets) == set(ids)
        damaged, missing = tickets[ids[0]], tickets[ids[1]]
        assert (damaged["reason"], damaged["suggested_solution"]) == ("damaged", "rework")
        assert [(p["id"], p["amount"]) for p in damaged["products"]] == [(17, 1)]
        (stored,) = damaged["products"][0]["files"]
        assert stored["state"] == "stored"
        assert stored["filename"] == "torn.png"
        assert stored["content_type"] == "image/png"
        assert stored["thumbnail_url"] is not None
        assert (missing["reason"], missing["suggested_solution"]) == ("missing", "credit")
        assert [(p["id"], p["amount"], p["files"]) for p in missing["products"]] == [("flyer", 2, []), (19, 1, [])]
        for ticket in (damaged, missing):
            assert ticket["contact_email"] == CONTACT
            assert ticket["description"] == "The box was crushed."
            assert ticket["status"] == "open"

        # The photo's bytes are kept (and its thumbnail); the API serves them to the account.
        assert LocalStorage(portal.settings.storage_dir).exists(original_key(stored["sha256"]))
        assert person.api("GET", stored["download_url"]).content == photo
        # As the API's intake does: an event per ticket and its dispatch job; nothing to fetch.
        with portal.db.session() as session:
            numbers = [damaged["number"], missing["number"]]
            events = session.scalars(sa.select(Event.type).where(Event.ticket_id.in_(numbers))).all()
            assert sorted(events) == ["ticket.created", "ticket.created"]
            kinds = session.scalars(
                sa.select(Job.kind).where(
                    Job.ref_id.in_(sa.select(Event.id).where(Event.ticket_id.in_(numbers))), Job.kind != "fetch_file"
                )
            ).all()
            assert "dispatch_event" in kinds
            fetches = session.scalar(
                sa.select(sa.func.count()).where(Job.kind == "fetch_file", Job.ref_id == stored["id"])
            )
            assert fetches == 0
            assert session.scalar(sa.select(User.last_contact_email).where(User.id == person.user_id)) == CONTACT

        # The filed page lists both, each with its lines and a link to it; the order page now shows them.
        page = person.http.get(response.headers["location"])
        assert page.status_code == 200
        for ticket_id in ids:
            assert f'href="/portal/tickets/{ticket_id}"' in page.text
        assert "torn.png" in page.text
        order_page = person.http.get(person.order_url).text
        assert all(f'href="/portal/tickets/{ticket_id}"' in order_page for ticket_id in ids)
        assert f'value="{CONTACT}"' in order_page  # the next report starts with this contact
        assert 'max="2"' in order_page  # banner-510: 3 ordered, 1 claimed

    def test_one_bad_line_stores_nothing_and_keeps_the_input(self, portal: Portal, person: Person) -> None:
        before = counts(portal, person.reseller.id)
        fields = {
            "description": "Torn & missing <b>cards</b>",
            "contact_email": CONTACT,
            **line(0, 1, "damaged", "rework"),  # damaged needs a photo: none given
            **line(2, 4, "missing", "credit"),
        }
        response = person.report(fields)
        assert response.status_code == 422
        assert counts(portal, person.reseller.id) == before
        page = response.text
        assert "Torn &amp; missing &lt;b&gt;cards&lt;/b&gt;</textarea>" in page
        assert f'value="{CONTACT}"' in page
        assert 'name="line-0-include" checked' in page
        assert 'name="line-2-include" checked' in page
        assert 'name="line-1-include" checked' not in page
        assert re.search(r'name="line-2-amount" value="4"', page)
        assert '<option value="damaged" data-explanation="Items arrived damaged, torn, dented or broken." ' in page
        assert re.search(r'<option value="missing"[^>]*selected>', page)
        assert re.search(r'<option value="credit"[^>]*selected>', page)
        assert errors_beside(page) == {
            "line-0-photos": [
                "Reason 'damaged' requires at least one file (a photo of the problem) on every product line."
            ]
        }
        assert person.api("GET", "/tickets").json()["tickets"] == []

    def test_every_mistake_beside_its_field_with_the_apis_codes_and_messages(self, person: Person) -> None:
        fields = {
            "description": "x" * 5001,
            "contact_email": CUSTOMER.upper(),
            **line(0, 1, "damaged", "rework"),
            **line(1, 501, "missing", "credit"),
            **line(2, "", "", "credit"),
        }
        response = person.report(fields)
        assert response.status_code == 422
        beside = errors_beside(response.text)
        # The API's answer for the same tickets, for its messages.
        api = person.api(
            "POST",
            "/tickets/validate",
            json={
                "order_id": person.order_id,
                "id": "x",
                "description": "x" * 5001,
                "reason": "missing",
                "suggested_solution": "credit",
                "contact_email": CUSTOMER.upper(),
                "products": [{"id": "flyer", "amount": 501}],
            },
        ).json()["errors"]
        by_loc = {e["loc"]: e for e in api}
        assert beside["description"] == ["Description" + by_loc["description"]["message"].removeprefix("description")]
        assert beside["contact_email"] == [by_loc["contact_email"]["message"]]
        assert by_loc["contact_email"]["code"] == Code.CUSTOMER_EMAIL_GIVEN
        assert beside["line-1-amount"] == [by_loc["products.0.amount"]["message"]]
        assert by_loc["products.0.amount"]["code"] == Code.AMOUNT_EXCEEDS_ORDER
        assert beside["line-0-photos"] == [
            "Reason 'damaged' requires at least one file (a photo of the problem) on every product line."
        ]
        assert beside["line-2-amount"] == ["Amount is required."]
        assert beside["line-2-reason"] == ["Reason is required."]
        # Each shown once (though each ticket had the description), and listed in the summary, naming the line.
        listed = summary(response.text)
        targets = [target for target, _ in listed]
        assert sorted(targets) == sorted(
            ["description", "contact_email", "line-0-photos", "line-1-amount", "line-2-amount", "line-2-reason"]
        )
        assert ("line-1-amount", f"flyer-a5 (product flyer): {by_loc['products.0.amount']['message']}") in listed
        # Each control names its error for assistive technology.
        assert re.search(
            r'id="line-1-amount"[^>]*aria-describedby="line-1-amount-hint line-1-amount-error"', response.text
        )
        assert re.search(r'id="line-1-amount"[^>]*aria-invalid="true"', response.text)

    def test_nothing_included_is_a_clear_error(self, portal: Portal, person: Person) -> None:
        before = counts(portal, person.reseller.id)
        response = person.report({"contact_email": CONTACT, "line-0-amount": "1"})
        assert response.status_code == 422
        assert summary(response.text) == [
            ("report-lines", "Include at least one product line: tick Include on each product you complain about.")
        ]
        assert counts(portal, person.reseller.id) == before

    def test_a_line_already_in_an_unsolved_ticket_links_to_it(self, person: Person) -> None:
        held = person.api(
            "POST",
            "/tickets",
            json={
                "order_id": person.order_id,
                "id": "RT-77/a",
                "reason": "missing",
                "suggested_solution": "credit",
                "contact_email": CONTACT,
                "products": [{"id": 19, "amount": 1}],
            },
        )
        assert held.status_code == 201, held.text
        response = person.report({"contact_email": CONTACT, **line(2, 1, "missing", "rework")})
        assert response.status_code == 422
        assert errors_beside(response.text)["line-2-include"] == [
            "Product 19 is in ticket 'RT-77/a'. Add a message to ticket RT-77/a instead"
        ]
        assert 'href="/portal/tickets/RT-77%2Fa"' in response.text
        # Another reason for the same product is another ticket: filed.
        assert (
            len(
                filed_ids(
                    person.report(
                        {"contact_email": CONTACT, **line(2, 1, "damaged", "rework")},
                        [("line-2-photos", ("a.png", png(), "image/png"))],
                    )
                )
            )
            == 1
        )

    def test_a_line_with_nothing_left_to_claim_is_shown_as_such(self, person: Person) -> None:
        assert len(filed_ids(person.report({"contact_email": CONTACT, **line(0, 3, "missing", "credit")}))) == 1
        page = person.http.get(person.order_url).text
        assert "nothing left to claim" in page
        assert 'name="line-0-include"' not in page
        assert 'name="line-1-include"' in page
        # Included anyway (by a hand-made post), the line is not taken.
        response = person.report({"contact_email": CONTACT, **line(0, 1, "damaged", "credit")})
        assert response.status_code == 422
        assert summary(response.text)[0][0] == "report-lines"


class TestPhotos:
    def test_a_bad_file_is_refused_beside_its_line(self, portal: Portal, person: Person) -> None:
        before = counts(portal, person.reseller.id)
        response = person.report(
            {"contact_email": CONTACT, **line(1, 1, "damaged", "rework")},
            [("line-1-photos", ("notes.txt", b"not a picture", "image/png"))],
        )
        assert response.status_code == 422
        beside = errors_beside(response.text)["line-1-photos"]
        assert beside[0].startswith("notes.txt is not an image")
        assert counts(portal, person.reseller.id) == before

    def test_photos_are_kept_across_a_refused_submit_and_count_for_files_required(
        self, portal: Portal, person: Person
    ) -> None:
        fields = {"contact_email": CUSTOMER, **line(0, 1, "damaged", "rework")}
        before = counts(portal, person.reseller.id)
        refused = person.report(fields, [("line-0-photos", ("torn.png", png(), "image/png"))])
        assert refused.status_code == 422
        # The photo counted: the one mistake is the contact. It is kept in storage, not yet in the database.
        assert list(errors_beside(refused.text)) == ["contact_email"]
        tokens = re.findall(r'name="line-0-kept" value="([^"]+)" checked> torn.png attached', refused.text)
        assert len(tokens) == 1
        assert counts(portal, person.reseller.id) == before

        filed = person.report({**fields, "contact_email": CONTACT, "line-0-kept": tokens[0]})
        (ticket_id,) = filed_ids(filed)
        ticket = person.api("GET", f"/tickets/{ticket_id}").json()
        (photo,) = ticket["products"][0]["files"]
        assert (photo["filename"], photo["state"]) == ("torn.png", "stored")

    def test_a_kept_photo_left_out_is_not_attached(self, person: Person) -> None:
        fields = {"contact_email": CUSTOMER, **line(1, 1, "missing", "credit")}
        refused = person.report(fields, [("line-1-photos", ("box.png", png(), "image/png"))])
        assert refused.status_code == 422
        (ticket_id,) = filed_ids(person.report({**fields, "contact_email": CONTACT}))  # the box unticked
        assert person.api("GET", f"/tickets/{ticket_id}").json()["products"][0]["files"] == []

    def test_forged_altered_and_foreign_tokens_are_refused(self, portal: Portal, person: Person) -> None:
        fields = {"contact_email": CUSTOMER, **line(0, 1, "damaged", "rework")}
        refused = person.report(fields, [("line-0-photos", ("torn.png", png(), "image/png"))])
        (token,) = re.findall(r'name="line-0-kept" value="([^"]+)"', refused.text)
        payload, mac = token.split(".")
        order_number = person.api("POST", "/order/status", json={"orders": [{"id": person.order_id}]}).json()["orders"][
            0
        ]["supplier_order_number"]
        other_key = PhotoSigner(b"not the server's key", person.user_id, order_number)
        stored = StoredContent("image/png", 10, "a" * 64, original_key("a" * 64), None)
        forged = [
            f"{payload}.{mac[:-2]}{'A' if mac[-2] != 'A' else 'B'}{mac[-1]}",  # altered signature
            f"{payload[:-4]}AAAA.{mac}",  # altered value
            other_key.token(0, "x.png", stored),  # signed with another key
            token.replace(".", ""),  # no signature at all
        ]
        for bad in forged:
            response = person.report({**fields, "contact_email": CONTACT, "line-0-kept": bad})
            assert response.status_code == 422
            assert errors_beside(response.text)["line-0-photos"][0] == (
                "A photo attached before could not be verified; attach it again."
            )
        # The same token is no good for another line, nor for another user.
        moved = person.report({"contact_email": CONTACT, **line(1, 1, "damaged", "rework"), "line-1-kept": token})
        assert moved.status_code == 422
        assert "could not be verified" in errors_beside(moved.text)["line-1-photos"][0]
        assert counts(portal, person.reseller.id)["tickets"] == 0


class TestSigning:
    def test_round_trip_and_refusals(self, tmp_path: Path) -> None:
        storage = LocalStorage(tmp_path)
        body = png()
        sha = hashlib.sha256(body).hexdigest()
        storage.put(original_key(sha), io.BytesIO(body))
        content = StoredContent("image/png", len(body), sha, original_key(sha), None)
        signer = PhotoSigner(b"k" * 32, user_id=5, order_number=9)
        token = signer.token(2, "a.png", content)
        kept = signer.photo(token, 2, storage)
        assert kept is not None
        assert (kept.filename, kept.content) == ("a.png", content)
        assert signer.photo(token, 1, storage) is None  # another line
        assert PhotoSigner(b"k" * 32, user_id=6, order_number=9).photo(token, 2, storage) is None  # another user
        assert PhotoSigner(b"k" * 32, user_id=5, order_number=8).photo(token, 2, storage) is None  # another order
        assert PhotoSigner(b"j" * 32, user_id=5, order_number=9).photo(token, 2, storage) is None  # another key
        value = {"u": 5, "o": 9, "l": 2, "n": "a.png", "t": "image/png", "s": 1, "h": sha, "k": None}
        expired = sign(b"k" * 32, PHOTO_PURPOSE, value, max_age_seconds=-1)
        assert signer.photo(expired, 2, storage) is None
        other_purpose = sign(b"k" * 32, "something-else", value, max_age_seconds=60)
        assert signer.photo(other_purpose, 2, storage) is None
        gone = signer.token(2, "b.png", StoredContent("image/png", 1, "b" * 64, original_key("b" * 64), None))
        assert signer.photo(gone, 2, storage) is None  # nothing stored under it
        for junk in ("", "a.b.c", "é.x", "x" * 5000):
            assert signer.photo(junk, 2, storage) is None


class TestTenancy:
    def test_another_accounts_order_is_not_found(self, portal: Portal, person: Person) -> None:
        stranger = new_reseller(portal.db)
        with portal.db.transaction() as session:
            made = add_user(session, stranger.id, f"stranger{uuid.uuid4().hex[:6]}@other.example")
        with httpx.Client(base_url=portal.url, timeout=30) as http:
            token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
            assert token is not None
            http.post("/login", data={"email": made.user.email, "password": made.password, "csrf_token": token[1]})
            assert http.get(person.order_url).status_code == 404
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/portal").text)
            assert csrf is not None
            posted = http.post(
                f"{person.order_url}/report", data={"csrf_token": csrf[1], **line(0, 1, "missing", "credit")}
            )
            assert posted.status_code == 404
        # The owner's filed page names only the owner's tickets of that order.
        assert person.http.get(f"{person.order_url}/filed?ticket=nope").status_code == 404
        assert person.http.get("/portal/orders/no-such-order").status_code == 404

    def test_staff_are_sent_to_the_console(self, portal: Portal, person: Person) -> None:
        staff = new_staff(portal.db)
        with httpx.Client(base_url=portal.url, timeout=30) as http:
            token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
            assert token is not None
            http.post("/login", data={"email": staff.email, "password": staff.password, "csrf_token": token[1]})
            answer = http.get(person.order_url)
            assert (answer.status_code, answer.headers["location"]) == (303, "/console")


class TestFileTickets:
    """The service under the form: every draft checked before any is stored."""

    @staticmethod
    def _drafts(order_id: str, *bodies: dict[str, Any]) -> list[Any]:
        async def make() -> list[Any]:
            base = {"order_id": order_id, "suggested_solution": "credit", "contact_email": CONTACT}
            return [
                await draft_ticket({**base, "id": f"batch-{next(_counter)}", **b}, allow_private_urls=False)
                for b in bodies
            ]

        return asyncio.run(make())

    def test_problems_of_every_draft_and_nothing_stored(self, portal: Portal, person: Person) -> None:
        actor = Actor(ActorType.RESELLER, person.reseller.id, person.reseller.name)
        drafts = self._drafts(
            person.order_id,
            {"reason": "missing", "products": [{"id": 17, "amount": 1}]},  # fine on its own
            {"reason": "damaged", "products": [{"id": "flyer", "amount": 1}]},  # no photo
            {"reason": "delayed", "products": [{"id": 17, "amount": 1}, {"id": 19, "amount": 11}]},  # 17 again; 19 over
        )
        before = counts(portal, person.reseller.id)
        with pytest.raises(FilingRefused) as refused:
            asyncio.run(portal.db.run_write(file_tickets, actor, drafts))
        assert [(r.draft, r.problem.loc, r.problem.code) for r in refused.value.refusals] == [
            (1, "products.0.files", Code.FILES_REQUIRED),
            (2, "products.0.id", Code.DUPLICATE_PRODUCT),
            (2, "products.1.amount", Code.AMOUNT_EXCEEDS_ORDER),
        ]
        assert counts(portal, person.reseller.id) == before

        filed = asyncio.run(portal.db.run_write(file_tickets, actor, [drafts[0]]))
        assert [f.created for f in filed] == [True]
        assert counts(portal, person.reseller.id)["tickets"] == before["tickets"] + 1

    def test_a_failure_while_storing_leaves_nothing(self, portal: Portal, person: Person) -> None:
        """All or none also past the checks: the batch is one unit of work. Two drafts under one id both pass
        (neither id is taken yet); the second INSERT breaks the unique id, and the first ticket goes too."""
        actor = Actor(ActorType.RESELLER, person.reseller.id, person.reseller.name)
        same = f"twice-{uuid.uuid4().hex[:8]}"
        first, second = self._drafts(
            person.order_id,
            {"id": same, "reason": "missing", "products": [{"id": 17, "amount": 1}]},
            {"id": same, "reason": "delayed", "products": [{"id": 19, "amount": 1}]},
        )
        before = counts(portal, person.reseller.id)
        with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
            asyncio.run(portal.db.run_write(file_tickets, actor, [first, second]))
        assert counts(portal, person.reseller.id) == before
