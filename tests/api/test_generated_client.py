"""A reseller's developer generates a client from the live /openapi.json with openapi-python-client, files a
ticket with it and reads it back, typed. The client is generated into tmp_path for the test, never committed."""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from claimdesk.db import Database
from claimdesk.testing.server import ThreadedServer
from tests.factories import new_reseller, order_body

# Not "claimdesk_client": that is our own client distribution, installed beside the tests.
PACKAGE = "claimdesk_generated_client"


def generate(url: str, root: Path) -> Path:
    config = root / "config.yml"
    # No formatting hooks: they would run ruff over the generated code, which the test does not need.
    config.write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n", encoding="utf-8")
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--url",
            url,
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(root / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return root / PACKAGE


@pytest.fixture
def client_package(server: ThreadedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    package = generate(f"{server.url}/openapi.json", tmp_path)
    assert (package / "api" / "tickets" / "create_ticket.py").is_file()
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def operation(tag: str, name: str) -> Any:
    """The generated module of one operation: ``api/<tag>/<operation id>.py``."""
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")


@pytest.fixture
def client(client_package: Any, server: ThreadedServer, db: Database) -> Any:
    """The generated client, authenticated as a new reseller."""
    reseller = new_reseller(db)
    with client_package.AuthenticatedClient(base_url=server.url, token=reseller.key) as authenticated:
        yield authenticated


def test_a_generated_client_files_a_ticket_and_reads_it_back(client: Any) -> None:
    create_order = operation("orders", "create_order")
    create_ticket = operation("tickets", "create_ticket")
    get_ticket = operation("tickets", "get_ticket")
    models = importlib.import_module(f"{PACKAGE}.models")

    order_in = models.CreateOrderOrderIn.from_dict(order_body(id="my_weborder_1234"))
    created_order = create_order.sync(client=client, body=order_in)
    assert isinstance(created_order, models.OrderCreated)
    assert isinstance(created_order.order, models.Order)
    assert created_order.order.id == "my_weborder_1234"

    body = models.CreateTicketTicketIn(
        order_id="my_weborder_1234",
        id="complaint-77",
        reason=models.CreateTicketTicketInReason.DAMAGED,
        suggested_solution=models.CreateTicketTicketInSolution.REWORK,
        contact_email="support@reseller.example",
        description="Two banners arrived torn",
        products=[
            models.CreateTicketTicketInTicketLineIn(
                id=17,
                amount=2,
                files=[models.CreateTicketTicketInTicketLineInFileIn(uri="https://93.184.215.14/photos/77-1.jpg")],
            )
        ],
    )
    answer = create_ticket.sync_detailed(client=client, body=body)
    assert answer.status_code == 201, answer.content
    created = answer.parsed
    assert isinstance(created, models.TicketCreated)
    assert isinstance(created.ticket, models.Ticket)

    ticket = get_ticket.sync(ticket_id="complaint-77", client=client)
    assert isinstance(ticket, models.Ticket)
    assert ticket.id == "complaint-77"
    assert ticket.number == created.ticket.number
    assert ticket.status == models.TicketStatus.OPEN
    assert ticket.reason == models.TicketReason.DAMAGED
    assert isinstance(ticket.created_at, dt.datetime)
    (line,) = ticket.products
    assert isinstance(line, models.TicketLine)
    assert (line.id, line.amount) == (17, 2)
    (file,) = line.files
    assert isinstance(file, models.File)
    assert file.state == models.FileState.PENDING
    (entry,) = ticket.history
    assert isinstance(entry, models.HistoryEntry)
    assert entry.action == models.HistoryEntryAction.CREATED
    assert entry.by.type_ == models.ActorType.RESELLER

    # An error answer is the one typed Error, with its codes.
    missing = get_ticket.sync(ticket_id="nope", client=client)
    assert isinstance(missing, models.Error)
    again = create_ticket.sync(client=client, body=body.__class__.from_dict({**body.to_dict(), "id": "other"}))
    assert isinstance(again, models.Error)
    assert [item.code for item in again.errors] == [models.ErrorItemCode.AMOUNT_EXCEEDS_ORDER]
