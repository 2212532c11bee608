"""Ticket pages with evidence fetched from the reseller's URIs: such a file has no filename (only uploads
have one), and both the portal's and the console's page show it, stored (a thumbnail) or failed (its error)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from claimdesk.config import Settings
from claimdesk.db import Database
from tests.console.test_views import sign_in as staff_sign_in
from tests.factories import new_staff
from tests.files.fileserver import FileHost, FileServer, png_bytes
from tests.files.helpers import drain, file_ticket
from tests.web.conftest import sign_in
from tests.web.test_sign_in import new_user


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The file host is on 127.0.0.1; a failed fetch is given up after one attempt."""
    return settings.model_copy(
        update={"allow_private_urls": True, "retry_base_seconds": 0, "file_fetch_max_attempts": 1}
    )


@pytest.fixture
def files_host() -> Iterator[FileHost]:
    with FileServer() as host:
        yield host


def test_fetched_and_failed_files_on_both_ticket_pages(
    client: httpx.Client, db: Database, settings: Settings, files_host: FileHost
) -> None:
    files_host.files["/photos/torn.png"] = (png_bytes((400, 300)), "image/png")
    reseller, ticket = file_ticket(client, db, [files_host.url("/photos/torn.png"), files_host.url("/gone.png")])
    drain(db, settings)
    stored, _failed = ticket["products"][0]["files"]

    email, password = new_user(db, reseller.id)
    sign_in(client, email, password)
    page = client.get(f"/portal/tickets/{ticket['id']}")
    assert page.status_code == 200, page.text[:500]
    assert f'src="/portal/files/{stored["id"]}/thumbnail" alt="Photo {stored["id"]}"' in page.text
    assert page.text.count("gallery__item--failed") == 1
    thumbnail = client.get(f"/portal/files/{stored['id']}/thumbnail")
    assert (thumbnail.status_code, thumbnail.headers["content-type"]) == (200, "image/jpeg")

    client.cookies.clear()
    staff_sign_in(client, new_staff(db))
    desk = client.get(f"/console/tickets/{ticket['number']}")
    assert desk.status_code == 200, desk.text[:500]
    assert f'src="/console/files/{stored["id"]}/thumbnail"' in desk.text
