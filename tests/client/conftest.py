"""The SDK against the real server of tests/conftest.py (``server``), as a reseller integration uses it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from claimdesk.db import Database
from claimdesk.testing.server import ThreadedServer
from claimdesk_client import Client, RetryPolicy
from tests.factories import Reseller, new_order, new_reseller


@pytest.fixture
def reseller(db: Database) -> Reseller:
    return new_reseller(db, "Print Partners")


@pytest.fixture
def sdk(server: ThreadedServer, reseller: Reseller) -> Iterator[Client]:
    with Client(server.url, reseller.key, timeout=30, retry=RetryPolicy(backoff_base=0.01)) as client:
        yield client


@pytest.fixture
def order(client: httpx.Client, reseller: Reseller) -> dict[str, Any]:
    return new_order(client, reseller)
