"""Deciding what a file is by its bytes (no database, no network)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from claimdesk.files.content import NotAccepted, inspect

from .fileserver import JPEG, PDF, PNG, bomb_png, corrupt_png, png_bytes


def _image(fmt: str, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (400, 200), "green").save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("body", "content_type", "thumbnail"),
    [
        (PNG, "image/png", "jpg"),
        (JPEG, "image/jpeg", "jpg"),
        (_image("GIF", "P"), "image/gif", "jpg"),
        (_image("WEBP"), "image/webp", "jpg"),
        (png_bytes((400, 200), "#00ff0080", "RGBA"), "image/png", "png"),
        (PDF, "application/pdf", None),
    ],
)
def test_accepted(body: bytes, content_type: str, thumbnail: str | None) -> None:
    inspected = inspect(io.BytesIO(body), thumbnail_px=100)
    assert (inspected.content_type, inspected.thumbnail_extension) == (content_type, thumbnail)
    if inspected.thumbnail is not None:
        with Image.open(io.BytesIO(inspected.thumbnail)) as image:
            assert max(image.size) == 100


def test_a_photo_is_turned_upright_in_its_thumbnail() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    out = io.BytesIO()
    Image.new("RGB", (400, 200), "red").save(out, "JPEG", exif=exif)
    inspected = inspect(out, thumbnail_px=100)
    assert inspected.thumbnail is not None
    with Image.open(io.BytesIO(inspected.thumbnail)) as image:
        assert image.size == (50, 100)


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (b"<html><body>hello</body></html>", "not an image (JPEG, PNG, GIF, WebP, AVIF) or a PDF", "invalid_file_type"),
        (b"", "not an image (JPEG, PNG, GIF, WebP, AVIF) or a PDF", "invalid_file_type"),
        (b"PK\x03\x04 a zip file", "not an image (JPEG, PNG, GIF, WebP, AVIF) or a PDF", "invalid_file_type"),
        (_image("BMP"), "not an image (JPEG, PNG, GIF, WebP, AVIF) or a PDF", "invalid_file_type"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            "not an image (JPEG, PNG, GIF, WebP, AVIF) or a PDF",
            "invalid_file_type",
        ),
        (JPEG[: len(JPEG) // 2], "a damaged JPEG file (image file is truncated", "invalid_file"),
        (corrupt_png(), "a damaged PNG file", "invalid_file"),
        # Over Pillow's limit: refused by Pillow (over twice the limit) or by us (a warning only, to Pillow).
        (bomb_png(30_000, 30_000), "an image too large to open safely", "invalid_file"),
        (bomb_png(10_000, 10_000), "an image too large to open safely", "invalid_file"),
    ],
)
def test_refused(body: bytes, message: str, code: str) -> None:
    with pytest.raises(NotAccepted) as caught:
        inspect(io.BytesIO(body), thumbnail_px=100)
    assert caught.value.message.startswith(message)
    assert caught.value.code == code
