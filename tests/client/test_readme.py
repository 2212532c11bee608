"""The examples of client/README.md run as they are, against a live server with the demo data."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from claimdesk.db import Database
from claimdesk.demo import DEMO_RESELLER_KEY, seed
from claimdesk.testing.server import ThreadedServer
from claimdesk_client._cli import app

README = Path(__file__).resolve().parents[2] / "client" / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readmes_examples_run(
    server: ThreadedServer, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.transaction() as session:
        seed(session)
    monkeypatch.setenv("CLAIMDESK_URL", server.url)
    monkeypatch.setenv("CLAIMDESK_API_KEY", DEMO_RESELLER_KEY)
    monkeypatch.chdir(tmp_path)
    python = blocks("python")
    assert len(python) == 4
    for code in python:
        exec(compile(code, str(README), "exec"), {"__name__": "readme"})

    runner = CliRunner()
    (tmp_path / "ticket.json").write_text(
        '{"order_id": "demo-order-1001", "id": "complaint-78", "reason": "delayed", "suggested_solution": "credit",'
        ' "contact_email": "support@reseller.example", "products": [{"id": 18, "amount": 100}]}'
    )
    (tmp_path / "complaints.csv").write_text(blocks("csv")[0])
    commands = [
        line.split("#")[0].strip()
        for block in blocks("sh")
        for line in block.splitlines()
        if line.startswith("claimdesk-client ") and "events follow" not in line
    ]
    assert len(commands) == 9
    for command in commands:
        result = runner.invoke(app, shlex.split(command)[1:], env={"COLUMNS": "160"})
        assert result.exit_code == 0, (command, result.output)
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {DEMO_RESELLER_KEY}"}) as http:
        tickets = http.get("/tickets", params={"order_id": "demo-order-1003"}).json()["tickets"]
    assert sorted(t["reason"] for t in tickets) == ["damaged", "missing"]  # the CSV's three rows, two tickets
