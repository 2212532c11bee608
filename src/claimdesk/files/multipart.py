"""Reading a multipart upload with every limit enforced while the bytes arrive.

Starlette's form parser spools any file to disk whatever its size and only then lets us look; here each
file part is counted and hashed as it streams in, and the upload stops with a 413 at the first byte past
the size cap, so a 2 GB upload costs the server no more than the cap.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass, field
from typing import IO

import anyio.to_thread
from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from claimdesk.exceptions import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from claimdesk.rules.codes import Code
from claimdesk.rules.problems import Problem

from .fetch import describe_size

_MAX_HEADER_BYTES = 16 * 1024
_MAX_FIELD_BYTES = 1024
_MAX_FIELDS = 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_filename(raw: str | None) -> str | None:
    """The last part of a client's file name, without control characters; None when nothing is left."""
    if raw is None:
        return None
    name = _CONTROL.sub("", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if name in ("", ".", ".."):
        return None
    return name[:255]


@dataclass
class UploadedFile:
    index: int
    filename: str | None
    body: IO[bytes]
    size: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


@dataclass
class UploadForm:
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[UploadedFile] = field(default_factory=list)

    def close(self) -> None:
        for upload in self.files:
            upload.body.close()


class _Collector:
    """python-multipart callbacks that fill an ``UploadForm``, raising at the first limit crossed."""

    def __init__(self, form: UploadForm, *, max_file_bytes: int, max_files: int) -> None:
        self.form = form
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.complete = False
        self._reset()

    def _reset(self) -> None:
        self.header_name = b""
        self.header_value = b""
        self.header_bytes = 0
        self.disposition = b""
        self.file: UploadedFile | None = None
        self.name = ""
        self.data = bytearray()

    def on_part_begin(self) -> None:
        self._reset()

    def _count_header(self, size: int) -> None:
        self.header_bytes += size
        if self.header_bytes > _MAX_HEADER_BYTES:
            raise BadRequest("A part of the multipart body has headers over 16 KiB.")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_name.strip().lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _kind, options = parse_options_header(self.disposition)
        raw_name = options.get(b"name")
        if raw_name is None:
            raise BadRequest('Each part of the multipart body needs a Content-Disposition with a "name".')
        self.name = raw_name.decode("utf-8", "replace")
        if b"filename" in options:
            if len(self.form.files) >= self.max_files:
                raise ValidationFailed(
                    [Problem("files", Code.TOO_MANY, f"At most {self.max_files} files can be uploaded at once.")]
                )
            body = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 (closed by UploadForm.close)
            filename = clean_filename(options[b"filename"].decode("utf-8", "replace"))
            self.file = UploadedFile(index=len(self.form.files), filename=filename, body=body)
            self.form.files.append(self.file)
        elif len(self.form.fields) >= _MAX_FIELDS:
            raise BadRequest(f"The multipart body has more than {_MAX_FIELDS} fields.")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        upload = self.file
        if upload is None:
            if len(self.data) + len(chunk) > _MAX_FIELD_BYTES:
                raise BadRequest(f"The form field {self.name!r} is over {_MAX_FIELD_BYTES} bytes.")
            self.data.extend(chunk)
            return
        upload.size += len(chunk)
        if upload.size > self.max_file_bytes:
            label = f" ({upload.filename})" if upload.filename else ""
            raise PayloadTooLarge(
                f"File {upload.index}{label} is larger than the {describe_size(self.max_file_bytes)} limit."
            )
        upload.digest.update(chunk)
        upload.body.write(chunk)

    def on_part_end(self) -> None:
        if self.file is not None:
            self.file.body.seek(0)
        else:
            self.form.fields.append((self.name, self.data.decode("utf-8", "replace")))

    def on_end(self) -> None:
        self.complete = True

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_end": self.on_end,
        }


def _boundary(request: Request) -> bytes:
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data":
        raise UnsupportedMediaType("The body must be multipart/form-data, with one or more files.")
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("The multipart body has no boundary in its Content-Type.")
    return boundary


async def read_upload(request: Request, *, max_file_bytes: int, max_files: int) -> UploadForm:
    """The fields and files of a multipart/form-data body; 415, 400, 413 or 422 otherwise."""
    boundary = _boundary(request)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_files * max_file_bytes + 1024 * 1024:
        raise PayloadTooLarge(f"The body is larger than {max_files} files of {describe_size(max_file_bytes)}.")
    form = UploadForm()
    collector = _Collector(form, max_file_bytes=max_file_bytes, max_files=max_files)
    try:
        parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
        async for chunk in request.stream():
            if chunk:
                # File writes (and spills to disk) stay off the event loop.
                await anyio.to_thread.run_sync(parser.write, chunk)
        parser.finalize()
        if not collector.complete:
            raise BadRequest("The multipart body ended before its closing boundary.")
    except FormParserError:
        form.close()
        raise BadRequest("The multipart body is malformed.") from None
    except BaseException:
        form.close()
        raise
    return form
