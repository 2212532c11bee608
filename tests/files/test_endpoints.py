"""Uploads (POST /tickets/{id}/files) and downloads (/files/{id}, /staff/files/{id}) through the real server."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import httpx
import pytest
from PIL import Image

from claimdesk.accounts.service import ActorType
from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.models import Message, Ticket
from tests.api.expect import problems, refused
from tests.factories import Reseller, new_order, new_reseller, new_staff, ticket_body

from .fileserver import JPEG, PDF, PNG, FileHost, corrupt_png, png_bytes
from .helpers import drain, file_ticket, ticket_files

Files = list[tuple[str, tuple[str, bytes, str]]]


def plain_ticket(client: httpx.Client, reseller: Reseller) -> dict[str, Any]:
    """A ticket whose reason needs no files, on product 17 of a new order."""
    order = new_order(client, reseller)
    body = ticket_body(order, reason="wrong-quantity")
    del body["products"][0]["files"]
    response = client.post("/tickets", json=body, headers=reseller.headers)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()["ticket"]
    return ticket


def upload(client: httpx.Client, reseller: Reseller, ticket_id: str, files: Files, **fields: str) -> httpx.Response:
    return client.post(f"/tickets/{ticket_id}/files", files=files, data=fields, headers=reseller.headers)


def png_part(name: str = "damage.png", body: bytes = PNG) -> tuple[str, tuple[str, bytes, str]]:
    return ("files", (name, body, "image/png"))


class TestUpload:
    def test_anonymous(self, client: httpx.Client) -> None:
        response = client.post("/tickets/x/files", files=[png_part()], data={"product": "17"})
        assert response.status_code == 401

    def test_staff_key(self, client: httpx.Client, db: Database) -> None:
        staff = new_staff(db)
        response = client.post("/tickets/x/files", files=[png_part()], data={"product": "17"}, headers=staff.headers)
        assert response.status_code == 403

    def test_other_account(self, client: httpx.Client, db: Database) -> None:
        owner, stranger = new_reseller(db), new_reseller(db)
        ticket = plain_ticket(client, owner)
        response = upload(client, stranger, ticket["id"], [png_part()], product="17")
        assert refused(response, 404) == []
        assert response.json()["error"] == f"Ticket '{ticket['id']}' not found."

    def test_not_found(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        assert refused(upload(client, reseller, "no-such-ticket", [png_part()], product="17"), 404) == []

    def test_not_an_image_or_pdf(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        ticket = plain_ticket(client, reseller)
        files = [
            png_part(),
            ("files", ("photo.jpg", b"<html>not a photo</html>", "image/jpeg")),
            ("files", ("broken.png", corrupt_png(), "image/png")),
        ]
        response = upload(client, reseller, ticket["id"], files, product="17")
        assert refused(response) == [("files.1", "invalid_file_type"), ("files.2", "invalid_file")]
        assert "photo.jpg" in response.json()["errors"][0]["message"]
        # Nothing of a refused upload is kept.
        view = client.get(f"/tickets/{ticket['id']}", headers=reseller.headers).json()
        assert view["products"][0]["files"] == []

    def test_over_the_size_cap(self, client: httpx.Client, db: Database, settings: Settings) -> None:
        reseller = new_reseller(db)
        ticket = plain_ticket(client, reseller)
        big = png_bytes((64, 64)) + b"\0" * settings.max_file_bytes
        response = upload(client, reseller, ticket["id"], [png_part(body=big)], product="17")
        assert refused(response, 413) == []
        assert "300,000 bytes" in response.json()["error"]

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ({}, [("product", "required")]),
            ({"product": "flyer"}, [("product", "product_not_in_ticket")]),
            ({"message": "999999"}, [("message", "invalid_choice")]),
            ({"message": "nope"}, [("message", "invalid_choice")]),
            ({"product": "17", "message": "1"}, [("message", "invalid_choice")]),
            ({"product": "17", "colour": "red"}, [("colour", "unknown_field")]),
        ],
    )
    def test_what_the_files_belong_to(
        self, client: httpx.Client, db: Database, fields: dict[str, str], expected: list[tuple[str, str]]
    ) -> None:
        reseller = new_reseller(db)
        ticket = plain_ticket(client, reseller)
        assert refused(upload(client, reseller, ticket["id"], [png_part()], **fields)) == expected

    def test_no_files(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        ticket = plain_ticket(client, reseller)
        response = client.post(
            f"/tickets/{ticket['id']}/files",
            files=[("product", (None, b"17"))],
            headers=reseller.headers,
        )
        assert refused(response) == [("files", "required")]

    def test_too_many_files(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        ticket = plain_ticket(client, reseller)
        response = upload(client, reseller, ticket["id"], [png_part(f"{i}.png") for i in range(11)], product="17")
        assert refused(response) == [("files", "too_many")]

    def test_not_multipart(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        ticket = plain_ticket(client, reseller)
        response = client.post(f"/tickets/{ticket['id']}/files", json={"product": 17}, headers=reseller.headers)
        assert refused(response, 415) == []

    def test_malformed_multipart(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        ticket = plain_ticket(client, reseller)
        response = client.post(
            f"/tickets/{ticket['id']}/files",
            content=b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\nabc',
            headers={**reseller.headers, "Content-Type": "multipart/form-data; boundary=b"},
        )
        assert refused(response, 400) == []

    def test_solved_ticket(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        ticket = plain_ticket(client, reseller)
        with db.transaction() as session:
            stored = session.get(Ticket, ticket["number"])
            assert stored is not None
            stored.status = "solved"
        assert refused(upload(client, reseller, ticket["id"], [png_part()], product="17"), 409) == []

    def test_valid_on_a_product_line(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        ticket = plain_ticket(client, reseller)
        files = [png_part("C:\\photos\\tear.png"), ("files", ("report.pdf", PDF, "application/pdf"))]
        response = upload(client, reseller, ticket["id"], files, product="17")
        assert response.status_code == 201, response.text
        view = response.json()
        assert view["id"] == ticket["id"]  # the bare ticket
        png, pdf = view["products"][0]["files"]
        assert png["state"] == pdf["state"] == "stored"
        assert png["uri"] is None
        assert (png["filename"], png["content_type"], png["size"]) == ("tear.png", "image/png", len(PNG))
        assert png["sha256"] == hashlib.sha256(PNG).hexdigest()
        assert (pdf["content_type"], pdf["thumbnail_url"]) == ("application/pdf", None)
        assert client.get(png["download_url"], headers=reseller.headers).content == PNG

        # A second upload to the same line comes after the first.
        again = upload(client, reseller, ticket["id"], [("files", ("more.jpg", JPEG, "image/jpeg"))], product="17")
        assert [f["filename"] for f in again.json()["products"][0]["files"]] == ["tear.png", "report.pdf", "more.jpg"]

    def test_valid_on_a_message(self, client: httpx.Client, db: Database) -> None:
        reseller = new_reseller(db)
        ticket = plain_ticket(client, reseller)
        with db.transaction() as session:
            message = Message(
                ticket_id=ticket["number"],
                body="Here is another photo",
                by_type=ActorType.RESELLER.value,
                by_id=reseller.id,
                by_name=reseller.name,
            )
            session.add(message)
            session.flush()
            message_id = message.id
        response = upload(client, reseller, ticket["id"], [png_part()], message=str(message_id))
        assert response.status_code == 201, response.text
        (shown,) = response.json()["messages"]
        assert [f["state"] for f in shown["files"]] == ["stored"]
        assert response.json()["products"][0]["files"] == []


def _stored_ticket(client: httpx.Client, db: Database) -> tuple[Reseller, dict[str, Any], dict[str, Any]]:
    reseller = new_reseller(db)
    ticket = plain_ticket(client, reseller)
    files = [("files", ("tear.jpg", JPEG, "image/jpeg")), ("files", ("report.pdf", PDF, "application/pdf"))]
    response = upload(client, reseller, ticket["id"], files, product="17")
    assert response.status_code == 201, response.text
    jpeg, pdf = response.json()["products"][0]["files"]
    return reseller, jpeg, pdf


class TestDownload:
    def test_anonymous(self, client: httpx.Client, db: Database) -> None:
        _reseller, jpeg, _pdf = _stored_ticket(client, db)
        assert client.get(jpeg["download_url"]).status_code == 401

    def test_other_account(self, client: httpx.Client, db: Database) -> None:
        _reseller, jpeg, _pdf = _stored_ticket(client, db)
        stranger = new_reseller(db)
        for url in (jpeg["download_url"], jpeg["thumbnail_url"]):
            response = client.get(url, headers=stranger.headers)
            assert refused(response, 404) == []
            assert response.json() == {"error": "File not found."}

    def test_staff_key_on_the_reseller_path(self, client: httpx.Client, db: Database) -> None:
        _reseller, jpeg, _pdf = _stored_ticket(client, db)
        assert client.get(jpeg["download_url"], headers=new_staff(db).headers).status_code == 403

    @pytest.mark.parametrize("file_id", ["999999999", "abc", "-1", "1" * 40])
    def test_not_found(self, client: httpx.Client, db: Database, file_id: str) -> None:
        reseller = new_reseller(db)
        assert problems(client.get(f"/files/{file_id}", headers=reseller.headers)) == []
        assert client.get(f"/files/{file_id}", headers=reseller.headers).status_code == 404

    def test_a_pending_file_is_not_there_yet(self, client: httpx.Client, db: Database, files_host: FileHost) -> None:
        reseller, ticket = file_ticket(client, db, [files_host.url("/photo.png")])
        file_id = ticket["products"][0]["files"][0]["id"]
        assert client.get(f"/files/{file_id}", headers=reseller.headers).status_code == 404

    def test_valid(self, client: httpx.Client, db: Database, settings: Settings) -> None:
        reseller, jpeg, pdf = _stored_ticket(client, db)
        response = client.get(jpeg["download_url"], headers=reseller.headers)
        assert response.status_code == 200
        assert response.content == JPEG
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["content-length"] == str(len(JPEG))
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-disposition"] == "inline; filename=\"tear.jpg\"; filename*=UTF-8''tear.jpg"
        assert response.headers["etag"] == f'"{jpeg["sha256"]}"'

        thumbnail = client.get(jpeg["thumbnail_url"], headers=reseller.headers)
        assert thumbnail.status_code == 200
        assert thumbnail.headers["content-type"] == "image/jpeg"
        assert thumbnail.headers["x-content-type-options"] == "nosniff"
        assert thumbnail.headers["etag"] != response.headers["etag"]
        with Image.open(io.BytesIO(thumbnail.content)) as image:
            assert image.format == "JPEG"
            assert image.size == (settings.thumbnail_px, 240)

        document = client.get(pdf["download_url"], headers=reseller.headers)
        assert (document.content, document.headers["content-type"]) == (PDF, "application/pdf")
        assert document.headers["content-disposition"].startswith('attachment; filename="report.pdf"')
        assert client.get(f"/files/{pdf['id']}/thumbnail", headers=reseller.headers).status_code == 404

    def test_a_fetched_file_is_named_after_its_url(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost
    ) -> None:
        reseller, ticket = file_ticket(client, db, [files_host.url("/notes%20of%20today.png?x=1")])
        files_host.files["/notes%20of%20today.png"] = (PNG, "text/plain")
        drain(db, settings)
        (view,) = ticket_files(client, reseller, ticket)
        response = client.get(view["download_url"], headers=reseller.headers)
        assert response.headers["content-type"] == "image/png"
        assert response.headers["content-disposition"] == (
            "inline; filename=\"notes of today.png\"; filename*=UTF-8''notes%20of%20today.png"
        )


class TestStaffDownload:
    def test_anonymous(self, client: httpx.Client, db: Database) -> None:
        _reseller, jpeg, _pdf = _stored_ticket(client, db)
        assert client.get(f"/staff/files/{jpeg['id']}").status_code == 401

    def test_reseller_key(self, client: httpx.Client, db: Database) -> None:
        reseller, jpeg, _pdf = _stored_ticket(client, db)
        assert client.get(f"/staff/files/{jpeg['id']}", headers=reseller.headers).status_code == 403

    def test_not_found(self, client: httpx.Client, db: Database) -> None:
        assert client.get("/staff/files/999999999", headers=new_staff(db).headers).status_code == 404

    def test_valid(self, client: httpx.Client, db: Database) -> None:
        _reseller, jpeg, pdf = _stored_ticket(client, db)
        staff = new_staff(db)
        response = client.get(f"/staff/files/{jpeg['id']}", headers=staff.headers)
        assert (response.status_code, response.content) == (200, JPEG)
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["x-content-type-options"] == "nosniff"
        thumbnail = client.get(f"/staff/files/{jpeg['id']}/thumbnail", headers=staff.headers)
        assert (thumbnail.status_code, thumbnail.headers["content-type"]) == (200, "image/jpeg")
        document = client.get(f"/staff/files/{pdf['id']}", headers=staff.headers)
        assert (document.status_code, document.content) == (200, PDF)
