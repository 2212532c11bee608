"""The fetch_file job against a real file host on 127.0.0.1, run by a real job runner on both databases."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image

from claimdesk.config import Settings
from claimdesk.db import Database
from claimdesk.models import Event
from tests.factories import new_staff

from .fileserver import JPEG, PDF, PNG, FileHost
from .helpers import drain, fetch_jobs, file_ticket, stored_originals, ticket_files, with_settings


def _events(db: Database, kind: str) -> list[Event]:
    with db.session() as session:
        return list(session.scalars(sa.select(Event).where(Event.type == kind).order_by(Event.id)))


class TestStored:
    def test_png_jpeg_and_pdf_are_kept_with_thumbnails_for_images(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost
    ) -> None:
        urls = [files_host.url("/photo.png"), files_host.url("/photo.jpg"), files_host.url("/report.pdf")]
        reseller, ticket = file_ticket(client, db, urls)
        assert [f["state"] for f in ticket["products"][0]["files"]] == ["pending"] * 3

        drain(db, settings)

        png, jpeg, pdf = ticket_files(client, reseller, ticket)
        for view, body, content_type in (
            (png, PNG, "image/png"),
            (jpeg, JPEG, "image/jpeg"),
            (pdf, PDF, "application/pdf"),
        ):
            assert view["state"] == "stored", view
            assert view["content_type"] == content_type
            assert view["size"] == len(body)
            assert view["sha256"] == hashlib.sha256(body).hexdigest()
            assert view["download_url"] == f"/files/{view['id']}"
            download = client.get(view["download_url"], headers=reseller.headers)
            assert download.status_code == 200
            assert download.content == body
            assert download.headers["content-type"] == content_type
        assert png["thumbnail_url"] == f"/files/{png['id']}/thumbnail"
        assert pdf["thumbnail_url"] is None
        thumbnail = client.get(jpeg["thumbnail_url"], headers=reseller.headers)
        assert thumbnail.headers["content-type"] == "image/jpeg"
        with Image.open(__import__("io").BytesIO(thumbnail.content)) as image:
            assert max(image.size) == settings.thumbnail_px
        assert [job.state for job in fetch_jobs(db)] == ["done"] * 3

    def test_the_same_bytes_are_stored_once(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost
    ) -> None:
        reseller, ticket = file_ticket(client, db, [files_host.url("/photo.png"), files_host.url("/photo.png?copy=2")])
        drain(db, settings)
        files = ticket_files(client, reseller, ticket)
        assert [f["state"] for f in files] == ["stored", "stored"]
        assert stored_originals(settings) == [
            Path(settings.storage_dir) / "originals" / files[0]["sha256"][:2] / files[0]["sha256"]
        ]

    def test_a_503_is_retried_then_stored(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost
    ) -> None:
        reseller, ticket = file_ticket(client, db, [files_host.url("/flaky.png")])
        drain(db, settings)
        (view,) = ticket_files(client, reseller, ticket)
        assert view["state"] == "stored"
        assert files_host.counts["/flaky.png"] == 2
        (job,) = fetch_jobs(db)
        assert (job.state, job.attempts, job.last_error) == ("done", 2, "the host answered HTTP 503")
        assert _events(db, "ticket.file_failed") == []

    def test_redirects_are_followed(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost
    ) -> None:
        target = files_host.url("/photo.jpg")
        reseller, ticket = file_ticket(
            client, db, [files_host.url(f"/redirect?to={target}"), files_host.url("/loop/2")]
        )
        drain(db, settings)
        followed, looping = ticket_files(client, reseller, ticket)
        assert followed["state"] == "stored"
        assert followed["sha256"] == hashlib.sha256(JPEG).hexdigest()
        # /loop/2 -> 3 -> 4 -> 5 -> 6: the fourth redirect is one too many.
        assert looping["state"] == "failed"
        assert looping["error"] == "too many redirects (more than 3)"
        assert files_host.paths().count("/loop/5") == 1
        assert "/loop/6" not in files_host.paths()


class TestFailed:
    @pytest.mark.parametrize(
        ("path", "error"),
        [
            ("/missing.jpg", "not found (HTTP 404)"),
            ("/forbidden.png", "the host refused it (HTTP 403)"),
            ("/notes.jpg", "not an image (JPEG, PNG, GIF, WebP, AVIF) or a PDF"),
            ("/huge.jpg", "too large (over the 300,000 bytes limit)"),
            ("/endless.jpg", "too large (over the 300,000 bytes limit)"),
            ("/bomb.png", "an image too large to open safely (more than 89,478,485 pixels)"),
        ],
    )
    def test_permanent_failures_fail_at_once_and_raise_the_event(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost, path: str, error: str
    ) -> None:
        reseller, ticket = file_ticket(client, db, [files_host.url(path)])
        drain(db, settings)
        (view,) = ticket_files(client, reseller, ticket)
        assert view["state"] == "failed"
        assert view["error"] == error
        assert "download_url" not in view
        assert files_host.counts[path] == 1
        (job,) = fetch_jobs(db)
        assert (job.state, job.attempts) == ("failed", 1)
        (event,) = _events(db, "ticket.file_failed")
        assert event.sequence == 2  # after ticket.created
        assert event.ticket["products"][0]["files"][0]["error"] == error
        assert stored_originals(settings) == []

    def test_a_file_on_an_internal_note_fails_without_a_reseller_event(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost
    ) -> None:
        reseller, ticket = file_ticket(client, db, [files_host.url("/photo.png")])
        drain(db, settings)
        before = client.get(f"/tickets/{ticket['id']}", headers=reseller.headers).json()
        agent = new_staff(db)
        note = client.post(
            f"/staff/tickets/{ticket['number']}/messages",
            json={
                "body": "Checked with production.",
                "internal": True,
                "files": [{"uri": files_host.url("/missing.jpg")}],
            },
            headers=agent.headers,
        )
        assert note.status_code == 201, note.text
        drain(db, settings)
        staff_view = client.get(f"/staff/tickets/{ticket['number']}", headers=agent.headers).json()
        (note_view,) = staff_view["messages"]
        assert note_view["files"][0]["state"] == "failed"
        assert _events(db, "ticket.file_failed") == []
        reseller_view = client.get(f"/tickets/{ticket['id']}", headers=reseller.headers).json()
        assert reseller_view["messages"] == []
        assert reseller_view["updated_at"] == before["updated_at"]

    def test_a_damaged_png_fails(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost
    ) -> None:
        reseller, ticket = file_ticket(client, db, [files_host.url("/corrupt.png")])
        drain(db, settings)
        (view,) = ticket_files(client, reseller, ticket)
        assert view["state"] == "failed"
        assert view["error"].startswith("a damaged PNG file")

    @pytest.mark.parametrize(
        ("path", "error"),
        [
            ("/slow.jpg", "timed out waiting for the host"),
            ("/drip.jpg", "timed out (the download took longer than 0.3 s)"),
            ("/always-503.png", "the host answered HTTP 503"),
        ],
    )
    def test_transient_failures_are_retried_up_to_the_limit(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost, path: str, error: str
    ) -> None:
        reseller, ticket = file_ticket(client, db, [files_host.url(path)])
        drain(db, with_settings(settings, file_fetch_deadline_seconds=0.3, file_read_timeout_seconds=0.2))
        (view,) = ticket_files(client, reseller, ticket)
        assert (view["state"], view["error"]) == ("failed", error)
        assert files_host.counts[path] == settings.file_fetch_max_attempts
        (job,) = fetch_jobs(db)
        assert (job.state, job.attempts) == ("failed", settings.file_fetch_max_attempts)
        assert len(_events(db, "ticket.file_failed")) == 1

    def test_one_bad_file_leaves_the_others_alone(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost
    ) -> None:
        reseller, ticket = file_ticket(
            client, db, [files_host.url("/endless.jpg"), files_host.url("/photo.png"), files_host.url("/notes.jpg")]
        )
        drain(db, settings)
        assert [f["state"] for f in ticket_files(client, reseller, ticket)] == ["failed", "stored", "failed"]
        assert len(_events(db, "ticket.file_failed")) == 2


class TestAddresses:
    def test_a_private_address_is_refused_when_fetching(
        self, client: httpx.Client, db: Database, settings: Settings, files_host: FileHost
    ) -> None:
        # Accepted at intake (private URLs allowed there), refused by a worker that does not allow them.
        reseller, ticket = file_ticket(
            client, db, [files_host.url("/photo.png"), files_host.url("/photo.png", "localhost")]
        )
        drain(db, with_settings(settings, allow_private_urls=False))
        by_ip, by_name = ticket_files(client, reseller, ticket)
        assert by_ip["state"] == by_name["state"] == "failed"
        assert by_ip["error"] == "address not allowed: 127.0.0.1 resolves to 127.0.0.1, a private or reserved address"
        assert by_name["error"] == "address not allowed: localhost is a loopback address"
        assert files_host.hits == []
