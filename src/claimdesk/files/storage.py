"""Where evidence files are kept: a small interface, and a local folder behind it.

Keys are content addresses (the SHA-256 of the bytes), so the same bytes are stored once, a write can be
repeated safely, and a key never changes meaning. An S3-compatible store only has to implement ``Storage``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, Protocol

from claimdesk.config import Settings

_KEY = re.compile(r"^[a-z]+/[0-9a-f]{2}/[0-9a-f]{64}(?:-[a-z0-9]+)?(?:\.[a-z]+)?$")


def original_key(sha256: str) -> str:
    return f"originals/{sha256[:2]}/{sha256}"


def thumbnail_key(sha256: str, size: int, extension: str) -> str:
    return f"thumbnails/{sha256[:2]}/{sha256}-{size}.{extension}"


class Storage(Protocol):
    def put(self, key: str, source: IO[bytes]) -> None:
        """Store ``source`` (read from its current position) under ``key``; all or nothing, and
        a no-op when the key is already stored (keys are content addresses)."""

    def exists(self, key: str) -> bool: ...

    def open(self, key: str) -> IO[bytes]:
        """The stored bytes; raises ``FileNotFoundError`` for an unknown key."""

    def size(self, key: str) -> int: ...


class LocalStorage:
    """A folder: ``originals/ab/<sha256>``, ``thumbnails/ab/<sha256>-320.jpg``.

    Writes go to a temporary file in the target folder, are flushed to disk, then renamed into place, so a
    reader (or a crash) never sees half a file.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    def put(self, key: str, source: IO[bytes]) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as temp:
                shutil.copyfileobj(source, temp, 1024 * 1024)
                temp.flush()
                os.fsync(temp.fileno())
            Path(temp_name).chmod(0o644)
            Path(temp_name).replace(path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        # The rename itself survives a power cut only once the folder is flushed too.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def open(self, key: str) -> IO[bytes]:
        return self._path(key).open("rb")

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size


def get_storage(settings: Settings) -> Storage:
    return LocalStorage(settings.storage_dir)
