"""The ``limits`` storage every counter of the service lives in (``CLAIMDESK_RATE_LIMIT_STORAGE``): the API's
quota (``api.ratelimit``, which keeps ``memory://`` counters of its own), the sign-in throttle and the page
limit (``web.throttle``)."""

from __future__ import annotations

from limits import storage


def sync_storage(storage_uri: str) -> storage.Storage:
    """The storage of ``storage_uri``; the async ones (``async+redis://``) are refused, as nothing here awaits."""
    store = storage.storage_from_string(storage_uri)
    if not isinstance(store, storage.Storage):
        raise ValueError(f"{storage_uri}: not a synchronous limits storage")
    return store
