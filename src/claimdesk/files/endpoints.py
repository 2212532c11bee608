"""Evidence file endpoints: uploads to a ticket, and downloads for the ticket's account and for staff."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from claimdesk.api.answers import Error, Ticket
from claimdesk.api.deps import ResellerDep, ServicesDep, StaffDep
from claimdesk.api.docs import answers, error_responses
from claimdesk.exceptions import NotFound
from claimdesk.tickets.lookup import reseller_ticket

from . import service
from .multipart import read_upload
from .storage import get_storage

router = APIRouter(tags=["files"])

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "1 to 10 files: images (JPEG, PNG, GIF, WebP) or PDFs.",
                        },
                        "product": {
                            "type": "string",
                            "minLength": 1,
                            "description": "The product id of a line of the ticket.",
                        },
                        "message": {
                            "type": "string",
                            "pattern": "^[0-9]+$",
                            "description": "The id of one of your messages.",
                        },
                    },
                    "additionalProperties": False,
                    "oneOf": [{"required": ["product"]}, {"required": ["message"]}],
                }
            }
        },
    }
}
_FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file's bytes.", "content": {"image/*": {}, "application/pdf": {}}}
}


@router.post(
    "/tickets/{ticket_id}/files",
    status_code=201,
    openapi_extra=_UPLOAD_BODY,
    response_model=None,
    responses={
        **answers(Ticket, "The ticket with the files.", 400, 401, 403, 404, 409, 415, 422, 429, status=201),
        413: {"description": "A file is over CLAIMDESK_MAX_FILE_BYTES.", "model": Error},
    },
)
async def upload_files(ticket_id: str, request: Request, actor: ResellerDep, services: ServicesDep) -> JSONResponse:
    """Upload evidence (multipart: files, plus product or message): checked by content, answers the ticket."""
    assert actor.id is not None
    account_id = actor.id
    # An unknown ticket is a 404 before the body is read.
    await run_in_threadpool(services.db.read, reseller_ticket, account_id, ticket_id)
    settings = services.settings
    form = await read_upload(request, max_file_bytes=settings.max_file_bytes, max_files=service.MAX_UPLOAD_FILES)

    def units() -> dict[str, object]:
        # Two units of work, and between them the files are checked and stored with no transaction open.
        tie, problems = services.db.read(service.upload_target, account_id, ticket_id, form.fields)
        upload = service.keep_uploads(get_storage(settings), form, tie, problems, thumbnail_px=settings.thumbnail_px)
        return services.db.write(service.attach_uploads, account_id, ticket_id, upload)

    try:
        view = await run_in_threadpool(units)
    finally:
        form.close()
    return JSONResponse(view, status_code=201)


def send_file(services: ServicesDep, download: service.Download) -> StreamingResponse:
    """A stored file (or thumbnail) as the API sends it: streamed, sandboxed by its CSP, cached privately."""
    storage = get_storage(services.settings)
    try:
        body = storage.open(download.key)
    except FileNotFoundError:
        raise NotFound("The file's content is missing from storage.") from None

    def chunks() -> Iterator[bytes]:
        with body:
            while chunk := body.read(256 * 1024):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type=download.content_type,
        headers={
            "Content-Length": str(storage.size(download.key)),
            "Content-Disposition": service.content_disposition(download),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
            "ETag": f'"{download.etag}"',
        },
    )


@router.get(
    "/files/{file_id}",
    response_class=StreamingResponse,
    responses={**_FILE_RESPONSE, **error_responses(401, 403, 404, 429)},
)
def download_file(file_id: str, actor: ResellerDep, services: ServicesDep) -> StreamingResponse:
    """A stored evidence file of one of your tickets (the ticket's download_url)."""
    download = services.db.read(service.find_download, file_id, account_id=actor.id, thumbnail=False)
    return send_file(services, download)


@router.get(
    "/files/{file_id}/thumbnail",
    response_class=StreamingResponse,
    responses={**_FILE_RESPONSE, **error_responses(401, 403, 404, 429)},
)
def download_thumbnail(file_id: str, actor: ResellerDep, services: ServicesDep) -> StreamingResponse:
    """The thumbnail of a stored image of one of your tickets (the ticket's thumbnail_url)."""
    download = services.db.read(service.find_download, file_id, account_id=actor.id, thumbnail=True)
    return send_file(services, download)


@router.get(
    "/staff/files/{file_id}",
    response_class=StreamingResponse,
    responses={**_FILE_RESPONSE, **error_responses(401, 403, 404, 429)},
)
def staff_download_file(file_id: str, _staff: StaffDep, services: ServicesDep) -> StreamingResponse:
    """Any stored evidence file (staff)."""
    download = services.db.read(service.find_download, file_id, account_id=None, thumbnail=False)
    return send_file(services, download)


@router.get(
    "/staff/files/{file_id}/thumbnail",
    response_class=StreamingResponse,
    responses={**_FILE_RESPONSE, **error_responses(401, 403, 404, 429)},
)
def staff_download_thumbnail(file_id: str, _staff: StaffDep, services: ServicesDep) -> StreamingResponse:
    """The thumbnail of any stored image (staff)."""
    download = services.db.read(service.find_download, file_id, account_id=None, thumbnail=True)
    return send_file(services, download)
