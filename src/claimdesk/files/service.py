"""Evidence files: keeping checked bytes, recording how a fetch ended, uploads and downloads.

The bytes go to storage before the database says ``stored`` (and storage keys are content addresses), so
a row never points at nothing and a repeated fetch or upload writes nothing twice.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import IO
from urllib.parse import quote, unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from claimdesk.accounts.service import ActorType
from claimdesk.exceptions import Conflict, NotFound, ValidationFailed
from claimdesk.models import EvidenceFile, Message, OrderProduct, Ticket, TicketProduct, utcnow
from claimdesk.rules.codes import Code
from claimdesk.rules.events import EventType
from claimdesk.rules.fields import as_id
from claimdesk.rules.problems import Problem
from claimdesk.rules.statuses import TicketStatus
from claimdesk.tickets.lifecycle import record_ticket_event
from claimdesk.tickets.lookup import reseller_ticket
from claimdesk.tickets.presenter import Audience, ticket_view

from .content import EXTENSIONS, Inspected, NotAccepted, inspect
from .multipart import UploadedFile, UploadForm, clean_filename
from .storage import Storage, original_key, thumbnail_key

MAX_UPLOAD_FILES = 10


@dataclass(frozen=True)
class StoredContent:
    content_type: str
    size: int
    sha256: str
    storage_key: str
    thumbnail_key: str | None


def keep(storage: Storage, body: IO[bytes], *, size: int, sha256: str, thumbnail_px: int) -> StoredContent:
    """Check ``body`` by its content and store it with its thumbnail; raises ``NotAccepted``."""
    return store(storage, body, inspect(body, thumbnail_px=thumbnail_px), size=size, sha256=sha256)


def store(storage: Storage, body: IO[bytes], inspected: Inspected, *, size: int, sha256: str) -> StoredContent:
    body.seek(0)
    key = original_key(sha256)
    storage.put(key, body)
    thumb_key = None
    if inspected.thumbnail is not None and inspected.thumbnail_extension is not None:
        thumb_key = thumbnail_key(sha256, inspected.thumbnail_px, inspected.thumbnail_extension)
        storage.put(thumb_key, io.BytesIO(inspected.thumbnail))
    return StoredContent(inspected.content_type, size, sha256, key, thumb_key)


# --- fetched files (the worker) ---


def pending_fetch(session: Session, file_id: int) -> str | None:
    """The URL of a file still waiting to be fetched; None when there is nothing (left) to do."""
    row = session.execute(sa.select(EvidenceFile.state, EvidenceFile.uri).where(EvidenceFile.id == file_id)).first()
    if row is None or row.state != "pending":
        return None
    uri: str | None = row.uri
    return uri


def _lock_pending(session: Session, file_id: int) -> tuple[Ticket, EvidenceFile] | None:
    """The file and its ticket, locked (ticket first, as every ticket change does); None unless pending."""
    ticket_id = session.scalar(sa.select(EvidenceFile.ticket_id).where(EvidenceFile.id == file_id))
    if ticket_id is None:
        return None
    ticket = session.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)
    file = session.get(EvidenceFile, file_id, with_for_update=True, populate_existing=True)
    if ticket is None or file is None or file.state != "pending":
        return None
    return ticket, file


def mark_stored(session: Session, file_id: int, content: StoredContent) -> bool:
    """Record a fetched file as stored; False when it was no longer pending (stored by an earlier run)."""
    locked = _lock_pending(session, file_id)
    if locked is None:
        return False
    ticket, file = locked
    _fill(file, content)
    if _reseller_sees(session, file):
        ticket.updated_at = utcnow()
    return True


def mark_failed(session: Session, file_id: int, error: str) -> bool:
    """Record that a file could not be fetched, and the ``ticket.file_failed`` event, in one transaction."""
    locked = _lock_pending(session, file_id)
    if locked is None:
        return False
    ticket, file = locked
    file.state = "failed"
    file.error = error[:500]
    # A file on an internal note is staff business: its failure makes no reseller event.
    if _reseller_sees(session, file):
        ticket.updated_at = utcnow()
        record_ticket_event(session, ticket, EventType.TICKET_FILE_FAILED)
    return True


def _reseller_sees(session: Session, file: EvidenceFile) -> bool:
    if file.message_id is None:
        return True
    return not session.scalar(sa.select(Message.internal).where(Message.id == file.message_id))


def _fill(file: EvidenceFile, content: StoredContent) -> None:
    file.state = "stored"
    file.error = None
    file.content_type = content.content_type
    file.size = content.size
    file.sha256 = content.sha256
    file.storage_key = content.storage_key
    file.thumbnail_key = content.thumbnail_key


# --- uploads ---
# In three steps, each the caller's to run (the endpoint owns the units of work): which ticket and where
# (a read), the files checked by content and stored (no database), then the rows (a write).


@dataclass(frozen=True)
class Tie:
    """What uploaded files belong to: a product line of the ticket, or one of the reseller's messages."""

    ticket_product_id: int | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class Upload:
    """Checked, stored files (their original names and content) and where they go."""

    tie: Tie
    kept: list[tuple[str | None, StoredContent]]


def _tie_fields(fields: list[tuple[str, str]]) -> tuple[dict[str, str], list[Problem]]:
    """The form's product or message field, each given once; anything else is a mistake."""
    problems = []
    values: dict[str, str] = {}
    for name, value in fields:
        if name not in ("product", "message"):
            problems.append(Problem(name, Code.UNKNOWN_FIELD, f"Unknown form field '{name}'; use product or message."))
        elif name in values:
            problems.append(Problem(name, Code.TOO_MANY, f"Give {name} once; all files of one upload go to one place."))
        else:
            values[name] = value.strip()
    if "product" in values and "message" in values:
        problems.append(Problem("message", Code.INVALID_CHOICE, "Give either product or message, not both."))
    elif not values:
        problems.append(
            Problem("product", Code.REQUIRED, "Give product (a product id of the ticket) or message (a message id).")
        )
    return values, problems


def _product_line(session: Session, ticket: Ticket, product: str) -> tuple[Tie | None, Problem | None]:
    line_id = session.scalar(
        sa.select(TicketProduct.id)
        .join(OrderProduct, OrderProduct.id == TicketProduct.order_product_id)
        .where(TicketProduct.ticket_id == ticket.id, OrderProduct.key == product)
    )
    if line_id is None:
        message = f"Product '{product}' is not a product line of ticket '{ticket.external_id}'."
        return None, Problem("product", Code.PRODUCT_NOT_IN_TICKET, message)
    return Tie(ticket_product_id=line_id), None


def _own_message(session: Session, ticket: Ticket, raw: str) -> tuple[Tie | None, Problem | None]:
    """A public message of the ticket's reseller, by its id."""
    key = as_id(raw)
    message_id = None
    if key is not None:
        message_id = session.scalar(
            sa.select(Message.id).where(
                Message.id == key,
                Message.ticket_id == ticket.id,
                Message.internal.is_(False),
                Message.by_type == ActorType.RESELLER.value,
                Message.by_id == ticket.account_id,
            )
        )
    if message_id is None:
        return None, Problem(
            "message", Code.INVALID_CHOICE, f"No message {raw!r} of yours in ticket '{ticket.external_id}'."
        )
    return Tie(message_id=message_id), None


def _tie(session: Session, ticket: Ticket, fields: list[tuple[str, str]]) -> tuple[Tie | None, list[Problem]]:
    values, problems = _tie_fields(fields)
    if "product" in values and "message" not in values:
        tie, problem = _product_line(session, ticket, values["product"])
    elif "message" in values and "product" not in values:
        tie, problem = _own_message(session, ticket, values["message"])
    else:
        return None, problems
    if problem is not None:
        return None, [*problems, problem]
    return (tie, []) if not problems else (None, problems)


def upload_target(
    session: Session, account_id: int, external_id: str, fields: list[tuple[str, str]]
) -> tuple[Tie | None, list[Problem]]:
    """Where an upload's files go (the form's product or message), or what is wrong with the form; 404 for an
    unknown ticket."""
    return _tie(session, reseller_ticket(session, account_id, external_id), fields)


def keep_uploads(
    storage: Storage, form: UploadForm, tie: Tie | None, problems: list[Problem], *, thumbnail_px: int
) -> Upload:
    """Check the uploaded files like fetched ones and store them; every mistake (the form's ``problems``
    too) in one ``ValidationFailed``. Runs outside any unit of work: it reads and writes only files."""
    problems = list(problems)
    if not form.files:
        problems.append(Problem("files", Code.REQUIRED, "Upload at least one file (a part with a filename)."))
    checked: list[tuple[UploadedFile, Inspected]] = []
    for upload in form.files:
        loc = f"files.{upload.index}"
        label = f" ({upload.filename})" if upload.filename else ""
        if upload.size == 0:
            problems.append(Problem(loc, Code.INVALID_FILE_TYPE, f"{loc}{label} is empty."))
            continue
        try:
            checked.append((upload, inspect(upload.body, thumbnail_px=thumbnail_px)))
        except NotAccepted as exc:
            problems.append(Problem(loc, exc.code, f"{loc}{label} is {exc.message}."))
    if problems or tie is None:
        raise ValidationFailed(problems)
    kept = [
        (upload.filename, store(storage, upload.body, inspected, size=upload.size, sha256=upload.sha256))
        for upload, inspected in checked
    ]
    return Upload(tie, kept)


def attach_uploads(session: Session, account_id: int, external_id: str, upload: Upload) -> dict[str, object]:
    """Add stored files to the ticket (locked; refused once solved); the ticket's reseller view."""
    ticket = reseller_ticket(session, account_id, external_id, for_update=True)
    if TicketStatus(ticket.status).is_solved:
        raise Conflict(f"Ticket '{external_id}' is solved; files can no longer be added.")
    tie = upload.tie
    owner = (
        EvidenceFile.ticket_product_id == tie.ticket_product_id
        if tie.ticket_product_id is not None
        else EvidenceFile.message_id == tie.message_id
    )
    last = session.scalar(
        sa.select(sa.func.max(EvidenceFile.position)).where(EvidenceFile.ticket_id == ticket.id, owner)
    )
    position = -1 if last is None else last
    for filename, content in upload.kept:
        position += 1
        file = EvidenceFile(
            ticket_id=ticket.id,
            ticket_product_id=tie.ticket_product_id,
            message_id=tie.message_id,
            position=position,
            filename=filename,
        )
        _fill(file, content)
        session.add(file)
    ticket.updated_at = utcnow()
    session.flush()
    return ticket_view(session, ticket, Audience.RESELLER)


def add_message_files(
    session: Session, ticket_id: int, message_id: int, kept: list[tuple[str | None, StoredContent]]
) -> None:
    """Files already checked and stored (a staff member's upload with a reply or note) on a new message."""
    for position, (filename, content) in enumerate(kept):
        file = EvidenceFile(ticket_id=ticket_id, message_id=message_id, position=position, filename=filename)
        _fill(file, content)
        session.add(file)
    session.flush()


# --- downloads ---


@dataclass(frozen=True)
class Download:
    key: str
    content_type: str
    filename: str
    etag: str
    inline: bool


def _stem(file: EvidenceFile) -> str:
    name = file.filename
    if name is None and file.uri:
        name = clean_filename(unquote(urlsplit(file.uri).path))
    stem = (name or "").rsplit(".", 1)[0] if name and "." in name.lstrip(".") else (name or "")
    stem = re.sub(r'["\\;]', "_", stem).strip()[:200]
    return stem or f"file-{file.id}"


def find_download(session: Session, file_id: str, *, account_id: int | None, thumbnail: bool) -> Download:
    """A stored file (or its thumbnail) of the account (``None``: any account, for staff); else 404."""
    missing = NotFound("File not found.")
    key = as_id(file_id)
    if key is None:
        raise missing
    query = sa.select(EvidenceFile).where(EvidenceFile.id == key, EvidenceFile.state == "stored")
    if account_id is not None:
        query = query.join(Ticket, Ticket.id == EvidenceFile.ticket_id).where(Ticket.account_id == account_id)
    file = session.scalar(query)
    if file is None or file.storage_key is None or file.content_type is None or file.sha256 is None:
        raise missing
    stem = _stem(file)
    if thumbnail:
        if file.thumbnail_key is None:
            raise NotFound("This file has no thumbnail.")
        extension = file.thumbnail_key.rsplit(".", 1)[-1]
        content_type = "image/png" if extension == "png" else "image/jpeg"
        etag = file.thumbnail_key.rsplit("/", 1)[-1]
        return Download(file.thumbnail_key, content_type, f"{stem}-thumbnail.{extension}", etag, inline=True)
    extension = EXTENSIONS.get(file.content_type, "bin")
    # Images show in the browser; a PDF is saved, never rendered in our origin.
    inline = file.content_type.startswith("image/")
    return Download(file.storage_key, file.content_type, f"{stem}.{extension}", file.sha256, inline=inline)


def content_disposition(download: Download) -> str:
    kind = "inline" if download.inline else "attachment"
    ascii_name = download.filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(download.filename, safe='')}"
