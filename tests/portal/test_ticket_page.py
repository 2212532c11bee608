"""The portal's ticket page over HTTP: the conversation without internal notes, the reply form, files, tenancy."""

from __future__ import annotations

import httpx

from claimdesk.db import Database
from tests.factories import new_order, new_reseller, new_staff, new_ticket
from tests.files.fileserver import png_bytes
from tests.web.conftest import csrf_of, sign_in
from tests.web.test_sign_in import new_user


def test_ticket_page_reply_files_and_tenancy(client: httpx.Client, db: Database) -> None:
    mine, theirs = new_reseller(db), new_reseller(db)
    ticket = new_ticket(client, mine, new_order(client, mine))
    other = new_ticket(client, theirs, new_order(client, theirs))
    staff = new_staff(db)
    number = ticket["number"]
    note = client.post(
        f"/staff/tickets/{number}/messages",
        json={"body": "Secret: this reseller complains a lot.", "internal": True},
        headers=staff.headers,
    )
    assert note.status_code == 201, note.text
    asked = client.post(
        f"/staff/tickets/{number}/status",
        json={"status": "holding", "message": "Could you send a photo of the box?"},
        headers=staff.headers,
    )
    assert asked.status_code == 200, asked.text
    email, password = new_user(db, mine.id)
    sign_in(client, email, password)

    page = client.get(f"/portal/tickets/{ticket['id']}")
    assert page.status_code == 200
    assert "Could you send a photo of the box?" in page.text
    assert "Secret" not in page.text
    assert page.text.index("Waiting for your answer") < page.text.index("Send reply")
    token = csrf_of(page)

    empty = client.post(f"/portal/tickets/{ticket['id']}/reply", data={"body": "", "csrf_token": token})
    assert empty.status_code == 422
    assert 'id="body-error"' in empty.text
    assert "Message: must not be empty." in empty.text
    assert "body: " not in empty.text
    bad = client.post(
        f"/portal/tickets/{ticket['id']}/reply",
        data={"body": "Here it is", "csrf_token": token},
        files={"photos": ("box.png", b"not an image", "image/png")},
    )
    assert bad.status_code == 422
    assert 'id="photos-error"' in bad.text
    assert "Here it is</textarea>" in bad.text

    sent = client.post(
        f"/portal/tickets/{ticket['id']}/reply",
        data={"body": "Here is the box.", "csrf_token": token},
        files={"photos": ("box.png", png_bytes((300, 200)), "image/png")},
    )
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == f"/portal/tickets/{ticket['id']}"
    api = client.get(f"/staff/tickets/{number}", headers=staff.headers).json()
    assert api["status"] == "pending"
    assert api["messages"][-1]["body"] == "Here is the box."
    file_id = api["messages"][-1]["files"][0]["id"]
    shown = client.get(f"/portal/tickets/{ticket['id']}").text
    assert "Your reply was sent." in shown
    assert f'href="/portal/files/{file_id}"' in shown
    original = client.get(f"/portal/files/{file_id}")
    assert original.status_code == 200
    assert original.content == png_bytes((300, 200))
    thumbnail = client.get(f"/portal/files/{file_id}/thumbnail")
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"].startswith("image/")
    assert thumbnail.headers["cache-control"] == "private, no-cache"
    assert thumbnail.headers["content-security-policy"] == "default-src 'none'; sandbox"

    assert client.get(f"/portal/tickets/{other['id']}").status_code == 404
    assert client.get("/portal/tickets/nope").status_code == 404
    theirs_file = client.post(
        f"/tickets/{other['id']}/files",
        data={"product": str(other["products"][0]["id"])},
        files={"files": ("x.png", png_bytes((50, 50)), "image/png")},
        headers=theirs.headers,
    )
    assert theirs_file.status_code == 201, theirs_file.text
    their_id = theirs_file.json()["products"][0]["files"][-1]["id"]
    assert client.get(f"/portal/files/{their_id}").status_code == 404
    assert client.get(f"/portal/files/{their_id}/thumbnail").status_code == 404
    foreign = client.post(f"/portal/tickets/{other['id']}/reply", data={"body": "x", "csrf_token": token})
    assert foreign.status_code == 404


def test_a_solved_ticket_refuses_the_reply(client: httpx.Client, db: Database) -> None:
    mine = new_reseller(db)
    ticket = new_ticket(client, mine, new_order(client, mine))
    staff = new_staff(db)
    solved = client.post(
        f"/staff/tickets/{ticket['number']}/status",
        json={"status": "solved", "resolution": {"outcome": "rejected", "note": "The print matches the proof."}},
        headers=staff.headers,
    )
    assert solved.status_code == 200, solved.text
    email, password = new_user(db, mine.id)
    sign_in(client, email, password)
    page = client.get(f"/portal/tickets/{ticket['id']}")
    assert "The print matches the proof." in page.text
    assert "Send reply" not in page.text
    assert "takes no more replies" in page.text
    refused = client.post(
        f"/portal/tickets/{ticket['id']}/reply", data={"body": "But why?", "csrf_token": csrf_of(page)}
    )
    assert refused.status_code == 409
    assert "is solved; no messages can be added" in refused.text
    assert 'href="#resolution"' in refused.text
    assert 'id="resolution"' in refused.text
    assert "Send reply" not in refused.text
