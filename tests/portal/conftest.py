"""The portal's tests: the web tests' settings (cookies that httpx sends over http://)."""

from __future__ import annotations

import pytest

from claimdesk.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"secure_cookies": False})
