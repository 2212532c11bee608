"""The one storage check behind every counter: the API's quota and the web's throttles take the same storages."""

from __future__ import annotations

import pytest
from limits import storage

from claimdesk.api.ratelimit import RateLimiter
from claimdesk.limitstore import sync_storage
from claimdesk.web.throttle import PageLimit, SignInThrottle


def test_a_synchronous_storage_is_taken() -> None:
    assert isinstance(sync_storage("memory://"), storage.MemoryStorage)


def test_async_storages_are_refused_by_every_counter() -> None:
    uri = "async+memory://"
    with pytest.raises(ValueError, match="not a synchronous limits storage"):
        sync_storage(uri)
    with pytest.raises(ValueError, match="not a synchronous limits storage"):
        RateLimiter("5/minute", uri)
    with pytest.raises(ValueError, match="not a synchronous limits storage"):
        SignInThrottle("5/minute", "5/minute", uri)
    with pytest.raises(ValueError, match="not a synchronous limits storage"):
        PageLimit("5/minute", "5/minute", uri)
