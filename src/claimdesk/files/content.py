"""What a file is, decided by its bytes: a picture Pillow can open and decode, or a PDF by its header.

Never by its name or the Content-Type it was served with. Images get a thumbnail; making it decodes the
image, which is also the check that it is whole (a truncated JPEG fails here).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from claimdesk.rules.codes import Code

# Pillow format name -> (content type, file extension). HEIF only where a plugin (pillow-heif) provides it.
_IMAGE_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
    "AVIF": ("image/avif", "avif"),
    "HEIF": ("image/heic", "heic"),
}
PDF = ("application/pdf", "pdf")
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")

EXTENSIONS = dict([*_IMAGE_FORMATS.values(), PDF])


def image_formats() -> list[str]:
    Image.init()
    return [name for name in _IMAGE_FORMATS if name in Image.OPEN]


def accepted_description() -> str:
    names = {"JPEG": "JPEG", "PNG": "PNG", "GIF": "GIF", "WEBP": "WebP", "AVIF": "AVIF", "HEIF": "HEIC"}
    return "an image (" + ", ".join(names[f] for f in image_formats()) + ") or a PDF"


class NotAccepted(Exception):
    """The bytes are not a file we keep; ``message`` says why, for the reseller."""

    def __init__(self, message: str, *, code: Code = Code.INVALID_FILE_TYPE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Inspected:
    content_type: str
    extension: str
    # A small JPEG (or PNG where the image has transparency); None for PDFs.
    thumbnail: bytes | None = None
    thumbnail_extension: str | None = None
    thumbnail_px: int = 0


def inspect(source: IO[bytes], *, thumbnail_px: int) -> Inspected:
    """What ``source`` holds, checked; raises ``NotAccepted``."""
    source.seek(0)
    head = source.read(16)
    if _PDF_HEADER.match(head):
        return Inspected(*PDF)
    formats = image_formats()
    source.seek(0)
    try:
        with Image.open(source, formats=formats) as image:
            fmt = image.format or ""
            _check_pixels(image)
            image.verify()
        # verify() leaves the image unusable; decode a fresh one for the thumbnail.
        source.seek(0)
        with Image.open(source, formats=[fmt]) as image:
            thumbnail, extension = _thumbnail(image, thumbnail_px)
    except NotAccepted:
        raise
    except UnidentifiedImageError:
        raise NotAccepted(f"not {accepted_description()}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise NotAccepted(_too_many_pixels(), code=Code.INVALID_FILE) from None
    except Exception as exc:
        raise NotAccepted(f"a damaged {fmt or 'image'} file ({_reason(exc)})", code=Code.INVALID_FILE) from None
    content_type, file_extension = _IMAGE_FORMATS[fmt]
    return Inspected(content_type, file_extension, thumbnail, extension, thumbnail_px)


def _too_many_pixels() -> str:
    limit = Image.MAX_IMAGE_PIXELS or 0
    return f"an image too large to open safely (more than {limit:,} pixels)"


def _check_pixels(image: Image.Image) -> None:
    # Pillow refuses past twice this limit and only warns past it; we refuse past it.
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and image.width * image.height > limit:
        raise NotAccepted(_too_many_pixels(), code=Code.INVALID_FILE)


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:200]


def _thumbnail(image: Image.Image, px: int) -> tuple[bytes, str]:
    image.draft("RGB", (px, px))  # JPEG: decode at a reduced scale, far less memory and time
    image.thumbnail((px, px))
    image = ImageOps.exif_transpose(image)
    transparent = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    out = io.BytesIO()
    if transparent:
        image.convert("RGBA").save(out, "PNG", optimize=True)
        return out.getvalue(), "png"
    image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue(), "jpg"
