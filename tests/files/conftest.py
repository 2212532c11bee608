"""Fixtures for evidence files: a real file host on 127.0.0.1, and settings that may reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from claimdesk.config import Settings

from .fileserver import FileHost, FileServer


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The file host is on 127.0.0.1, so private addresses are allowed; limits are small and retries immediate."""
    return settings.model_copy(
        update={
            "allow_private_urls": True,
            "retry_base_seconds": 0,
            "max_file_bytes": 300_000,
            "file_fetch_max_attempts": 3,
            "file_connect_timeout_seconds": 2,
            "file_read_timeout_seconds": 0.5,
            "file_fetch_deadline_seconds": 5,
        }
    )


@pytest.fixture
def files_host() -> Iterator[FileHost]:
    with FileServer() as host:
        yield host
