"""Photos uploaded with a message from a page: a staff reply or note on the desk, a reseller's reply in the portal.

Checked by their content like every evidence file (``claimdesk.files.content``: a real image or PDF, within
the size limit), stored before the unit of work, and attached to the new message inside it.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from claimdesk.accounts.service import Actor
from claimdesk.exceptions import ValidationFailed
from claimdesk.files.content import Inspected, NotAccepted, inspect
from claimdesk.files.multipart import clean_filename
from claimdesk.files.service import MAX_UPLOAD_FILES, StoredContent, add_message_files, store
from claimdesk.files.storage import Storage
from claimdesk.models import Message, Ticket
from claimdesk.rules.codes import Code
from claimdesk.rules.problems import Problem
from claimdesk.tickets import lifecycle

FIELD = "photos"
CHUNK = 256 * 1024


@dataclass
class Photo:
    filename: str | None
    body: IO[bytes]
    size: int
    sha256: str
    inspected: Inspected


def _copy(upload: UploadFile, max_bytes: int) -> tuple[IO[bytes], int, str] | None:
    """The upload's bytes in a temporary file, their size and SHA-256; None when over ``max_bytes``."""
    body = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the caller, who closes it)
    digest, size = hashlib.sha256(), 0
    upload.file.seek(0)
    while chunk := upload.file.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            body.close()
            return None
        digest.update(chunk)
        body.write(chunk)
    body.seek(0)
    return body, size, digest.hexdigest()


def check_photos(uploads: Sequence[UploadFile], *, max_bytes: int, thumbnail_px: int) -> list[Photo]:
    """Every upload read and checked; every refusal at once, at the ``photos`` field."""
    problems: list[Problem] = []
    photos: list[Photo] = []
    if len(uploads) > MAX_UPLOAD_FILES:
        raise ValidationFailed([Problem(FIELD, Code.TOO_MANY, f"At most {MAX_UPLOAD_FILES} photos at once.")])
    for upload in uploads:
        name = clean_filename(upload.filename)
        label = name or "A file"
        copied = _copy(upload, max_bytes)
        if copied is None:
            problems.append(
                Problem(FIELD, Code.INVALID_FILE, f"{label} is larger than {max_bytes // (1024 * 1024)} MB.")
            )
            continue
        body, size, sha256 = copied
        if size == 0:
            body.close()
            problems.append(Problem(FIELD, Code.INVALID_FILE_TYPE, f"{label} is empty."))
            continue
        try:
            inspected = inspect(body, thumbnail_px=thumbnail_px)
        except NotAccepted as exc:
            body.close()
            problems.append(Problem(FIELD, exc.code, f"{label} is {exc.message}."))
            continue
        photos.append(Photo(name, body, size, sha256, inspected))
    if problems:
        close(photos)
        raise ValidationFailed(problems)
    return photos


def keep_photos(storage: Storage, photos: Sequence[Photo]) -> list[tuple[str | None, StoredContent]]:
    return [(p.filename, store(storage, p.body, p.inspected, size=p.size, sha256=p.sha256)) for p in photos]


def close(photos: Sequence[Photo]) -> None:
    for photo in photos:
        photo.body.close()


def _attach_to_newest(session: Session, ticket: Ticket, kept: list[tuple[str | None, StoredContent]]) -> None:
    if kept:
        # The ticket is locked for the rest of the unit of work: its newest message is the one just added.
        message_id = session.scalar(sa.select(sa.func.max(Message.id)).where(Message.ticket_id == ticket.id))
        assert message_id is not None
        add_message_files(session, ticket.id, message_id, kept)


def reply_with_photos(
    session: Session,
    actor: Actor,
    number: str,
    body: dict[str, object],
    kept: list[tuple[str | None, StoredContent]],
    *,
    allow_private_urls: bool,
) -> Ticket:
    """The lifecycle's staff message, with the stored photos on it, in one unit of work."""
    ticket = lifecycle.add_staff_message(session, actor, number, body, allow_private_urls=allow_private_urls)
    _attach_to_newest(session, ticket, kept)
    return ticket


def reseller_reply_with_photos(
    session: Session,
    actor: Actor,
    external_id: str,
    body: dict[str, object],
    kept: list[tuple[str | None, StoredContent]],
    *,
    allow_private_urls: bool,
) -> Ticket:
    """The lifecycle's reseller message (holding -> pending), with the stored photos on it, in one unit of work."""
    ticket = lifecycle.add_reseller_message(session, actor, external_id, body, allow_private_urls=allow_private_urls)
    _attach_to_newest(session, ticket, kept)
    return ticket
