"""An import killed half-way (SIGKILL) and run again: no ticket twice, every row reported once."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from claimdesk.testing.server import ThreadedServer
from tests.factories import Reseller, new_order

from .support import FaultProxy, running_proxy

ORDERS = 60  # two rows each (two products, one reason and solution): 60 tickets, 120 rows


@pytest.fixture
def proxy(server: ThreadedServer) -> Iterator[FaultProxy]:
    with running_proxy(server.url) as running:
        yield running


def data_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as source:
        return list(csv.DictReader(source))


def all_tickets(client: httpx.Client, reseller: Reseller) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        page = client.get("/tickets", params=params, headers=reseller.headers).json()
        found += page["tickets"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_a_killed_import_run_again_files_nothing_twice(
    client: httpx.Client, reseller: Reseller, proxy: FaultProxy, tmp_path: Path
) -> None:
    source = tmp_path / "complaints.csv"
    with source.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["order_id", "product_id", "amount", "reason", "solution", "contact_email"])
        for _ in range(ORDERS):
            order = new_order(client, reseller)
            for product in order["products"]:
                writer.writerow([order["id"], product["id"], 1, "delayed", "credit", "support@reseller.example"])
    result = tmp_path / "complaints.result.csv"
    command = [sys.executable, "-m", "claimdesk_client", "ticket", "import", str(source), "--concurrency", "2"]
    env = {**os.environ, "CLAIMDESK_URL": proxy.url, "CLAIMDESK_API_KEY": reseller.key}

    proxy.delay = 0.05  # slow enough to be killed half-way
    running = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(data_rows(result)) < 20:
            assert running.poll() is None, "the import finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        running.send_signal(signal.SIGKILL)
    finally:
        running.wait(10)
    time.sleep(0.5)  # what the proxy still had in flight reaches the server
    reported_before = {r["line"] for r in data_rows(result)}
    filed_before = len(all_tickets(client, reseller))
    assert 10 <= filed_before < ORDERS

    proxy.delay = 0.0
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr

    rows = data_rows(result)
    assert [int(r["line"]) for r in rows] == list(range(2, 2 * ORDERS + 2))  # each row once, in order
    outcomes = Counter(r["outcome"] for r in rows)
    assert set(outcomes) == {"created", "already_there"}
    assert outcomes["already_there"] >= len(reported_before)
    assert outcomes["already_there"] == 2 * filed_before  # what the killed run filed, found again
    tickets = all_tickets(client, reseller)
    assert len(tickets) == ORDERS
    assert len({t["id"] for t in tickets}) == ORDERS
    assert {t["id"] for t in tickets} == {r["ticket_id"] for r in rows}
    assert all(len(t["products"]) == 2 for t in tickets)
