"""claimdesk-client on the command line (typer's CliRunner) against the live server: output, --json and
exit codes (0 done, 1 refused, 2 usage, 3 unreachable)."""

from __future__ import annotations

import csv
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from claimdesk.config import Settings
from claimdesk.testing.server import ThreadedServer
from claimdesk_client import webhooks
from claimdesk_client._cli import app
from tests.factories import Reseller, new_order, ticket_body
from tests.webhooks.support import Receiver, running_receiver

PHOTO = "https://93.184.215.14/photos/1.jpg"


class Cli:
    def __init__(self, url: str, key: str) -> None:
        self.env = {"CLAIMDESK_URL": url, "CLAIMDESK_API_KEY": key, "COLUMNS": "200"}
        self.runner = CliRunner()

    def __call__(self, *args: str, stdin: str | None = None, **env: str) -> Result:
        return self.runner.invoke(app, list(args), input=stdin, env={**self.env, **env}, catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        return json.loads(result.stdout)


@pytest.fixture
def cli(server: ThreadedServer, reseller: Reseller) -> Cli:
    return Cli(server.url, reseller.key)


def write_json(tmp_path: Path, body: Any, name: str = "ticket.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(body))
    return str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestTicketCommands:
    def test_submit_then_submit_again(self, cli: Cli, order: dict[str, Any], tmp_path: Path) -> None:
        body = ticket_body(order)
        path = write_json(tmp_path, body)
        first = cli("ticket", "submit", path)
        assert first.exit_code == 0, first.output
        assert f"Ticket {body['id']}" in first.stdout
        assert "filed" in first.stdout
        again = cli("ticket", "submit", path, "--json")
        assert again.exit_code == 0
        answer = json.loads(again.stdout)
        assert answer["already_received"] is True
        assert answer["message"] == "Ticket already received"
        assert answer["ticket"]["id"] == body["id"]
        human = cli("ticket", "submit", path)
        assert human.exit_code == 0
        assert "already there" in human.stdout

    def test_submit_from_stdin(self, cli: Cli, order: dict[str, Any]) -> None:
        result = cli("--json", "ticket", "submit", "-", stdin=json.dumps(ticket_body(order)))
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["status"] == "open"

    def test_a_refused_ticket_exits_1_with_every_error(self, cli: Cli, order: dict[str, Any], tmp_path: Path) -> None:
        path = write_json(tmp_path, ticket_body(order, reason="broken", contact_email="not-an-email"))
        result = cli("ticket", "submit", path, "--json")
        assert result.exit_code == 1
        answer = json.loads(result.stdout)
        assert answer["status"] == 422
        assert answer["request_id"]
        assert {(e["loc"], e["code"]) for e in answer["errors"]} == {
            ("reason", "invalid_choice"),
            ("contact_email", "invalid_email"),
        }
        human = cli("ticket", "submit", path)
        assert human.exit_code == 1
        assert "invalid_choice" in human.stderr

    def test_validate(self, cli: Cli, order: dict[str, Any], tmp_path: Path) -> None:
        good = cli("ticket", "validate", write_json(tmp_path, ticket_body(order)), "--json")
        assert good.exit_code == 0
        assert json.loads(good.stdout) == {"valid": True}
        bad = cli("ticket", "validate", write_json(tmp_path, ticket_body(order, products=[]), "bad.json"))
        assert bad.exit_code == 1
        assert "too_few" in bad.stderr

    def test_unreadable_input_is_a_usage_error(self, cli: Cli, tmp_path: Path) -> None:
        broken = tmp_path / "broken.json"
        broken.write_text("{not json")
        assert cli("ticket", "submit", str(broken)).exit_code == 2
        assert cli("ticket", "submit", str(tmp_path / "missing.json")).exit_code == 2
        assert cli("ticket", "submit", write_json(tmp_path, [1, 2])).exit_code == 2
        assert cli("ticket", "frobnicate").exit_code == 2

    def test_show_list_reply(self, cli: Cli, client: httpx.Client, reseller: Reseller, tmp_path: Path) -> None:
        ids = []
        for _ in range(3):
            body = ticket_body(new_order(client, reseller))
            assert cli("ticket", "submit", write_json(tmp_path, body)).exit_code == 0
            ids.append(body["id"])
        listed = cli.json("ticket", "list", "--status", "open")
        assert [t["id"] for t in listed] == list(reversed(ids))
        assert [t["id"] for t in cli.json("ticket", "list", "--limit", "1")] == [ids[-1]]
        table = cli("ticket", "list")
        assert table.exit_code == 0
        assert all(i in table.stdout for i in ids)
        reply = cli("ticket", "reply", ids[0], "Here is another photo.", "--file", PHOTO)
        assert reply.exit_code == 0, reply.output
        shown = cli.json("ticket", "show", ids[0])
        assert [(m["body"], m["files"][0]["uri"]) for m in shown["messages"]] == [("Here is another photo.", PHOTO)]
        human = cli("ticket", "show", ids[0])
        assert human.exit_code == 0
        assert "Here is another photo." in human.stdout
        missing = cli("ticket", "show", "no-such-ticket", "--json")
        assert missing.exit_code == 1
        assert json.loads(missing.stdout)["status"] == 404


class TestOtherCommands:
    def test_order_status(self, cli: Cli, order: dict[str, Any]) -> None:
        found = cli("order", "status", order["id"], f"#{order['supplier_order_number']}", "--json")
        assert found.exit_code == 0
        orders = json.loads(found.stdout)
        assert [o["id"] for o in orders] == [order["id"], order["id"]]
        assert orders[0]["products"][0]["claimable"] == 3
        partly = cli("order", "status", order["id"], "nope")
        assert partly.exit_code == 1
        assert "nope" in partly.stderr
        assert order["id"] in partly.stdout

    def test_reasons_and_solutions(self, cli: Cli) -> None:
        reasons = cli("reasons")
        assert reasons.exit_code == 0
        assert "commodity-item-missing" in reasons.stdout
        assert [s["value"] for s in cli.json("solutions")] == ["rework", "credit", "other"]

    def test_a_wrong_key_is_refused(self, cli: Cli) -> None:
        result = cli("reasons", "--json", CLAIMDESK_API_KEY="cdk_wrong")
        assert result.exit_code == 1
        assert json.loads(result.stdout)["status"] == 401

    def test_no_key_is_a_usage_error(self, cli: Cli) -> None:
        result = cli("reasons", CLAIMDESK_API_KEY="")
        assert result.exit_code == 2
        assert "CLAIMDESK_API_KEY" in result.stderr

    def test_an_unreachable_server_exits_3(self, cli: Cli) -> None:
        result = cli("--retries", "0", "reasons", "--json", CLAIMDESK_URL=f"http://127.0.0.1:{free_port()}")
        assert result.exit_code == 3
        answer = json.loads(result.stdout)
        assert answer["status"] is None
        assert answer["request_id"]


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    columns = columns or [
        "order_id",
        "product_id",
        "amount",
        "reason",
        "solution",
        "description",
        "photo_urls",
        "contact_email",
    ]
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_result(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as source:
        return list(csv.DictReader(source))


def guide_rows(order_id: str) -> list[dict[str, Any]]:
    """The guide's example: an order of three items, one damaged and two missing."""
    base = {"order_id": order_id, "contact_email": "support@reseller.example", "amount": 1}
    return [
        {
            **base,
            "product_id": "A",
            "reason": "damaged",
            "solution": "rework",
            "description": "Torn",
            "photo_urls": PHOTO,
        },
        {**base, "product_id": "B", "reason": "missing", "solution": "credit", "description": "Not in the box"},
        {**base, "product_id": "C", "reason": "missing", "solution": "credit", "description": "Not in the box"},
    ]


@pytest.fixture
def three_items(client: httpx.Client, reseller: Reseller) -> dict[str, Any]:
    products = [{"id": p, "amount": 1} for p in ("A", "B", "C")]
    return new_order(client, reseller, products=products)


class TestImport:
    def test_the_guides_example_makes_two_tickets_and_a_rerun_makes_none(
        self, cli: Cli, client: httpx.Client, reseller: Reseller, three_items: dict[str, Any], tmp_path: Path
    ) -> None:
        source = write_csv(tmp_path / "complaints.csv", guide_rows(three_items["id"]))
        result = cli("ticket", "import", str(source), "--json")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert (summary["rows"], summary["tickets"], summary["counts"]) == (3, 2, {"created": 3})
        tickets = client.get("/tickets", headers=reseller.headers).json()["tickets"]
        grouped = sorted((t["reason"], sorted(p["id"] for p in t["products"])) for t in tickets)
        assert grouped == [("damaged", ["A"]), ("missing", ["B", "C"])]
        rows = read_result(tmp_path / "complaints.result.csv")
        assert [(r["line"], r["product_id"], r["outcome"]) for r in rows] == [
            ("2", "A", "created"),
            ("3", "B", "created"),
            ("4", "C", "created"),
        ]
        assert rows[1]["ticket_id"] == rows[2]["ticket_id"] != rows[0]["ticket_id"]
        assert {t["id"] for t in tickets} == {r["ticket_id"] for r in rows}

        again = cli("ticket", "import", str(source))
        assert again.exit_code == 0, again.output
        assert "already there" in again.stdout
        assert [r["outcome"] for r in read_result(tmp_path / "complaints.result.csv")] == ["already_there"] * 3
        assert len(client.get("/tickets", headers=reseller.headers).json()["tickets"]) == 2

    def test_dry_run_creates_nothing(
        self, cli: Cli, client: httpx.Client, reseller: Reseller, three_items: dict[str, Any], tmp_path: Path
    ) -> None:
        source = write_csv(tmp_path / "complaints.csv", guide_rows(three_items["id"]))
        result = cli("ticket", "import", str(source), "--dry-run", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["counts"] == {"valid": 3}
        assert client.get("/tickets", headers=reseller.headers).json()["tickets"] == []

    def test_refused_rows_say_why_each(self, cli: Cli, three_items: dict[str, Any], tmp_path: Path) -> None:
        rows = guide_rows(three_items["id"])
        rows[0]["photo_urls"] = ""  # damaged needs files
        rows[2]["product_id"] = "Z"  # not in the order
        source = write_csv(tmp_path / "complaints.csv", rows)
        result = cli("ticket", "import", str(source), "--json", "--result", str(tmp_path / "out.csv"))
        assert result.exit_code == 1
        summary = json.loads(result.stdout)
        assert summary["counts"] == {"refused": 3}
        by_line = {r["line"]: r for r in read_result(tmp_path / "out.csv")}
        assert by_line["2"]["codes"] == "files_required"
        assert by_line["4"]["codes"] == "product_not_in_order"
        assert by_line["3"]["outcome"] == "refused"  # refused with its ticket: B is fine, Z is not
        assert by_line["3"]["status"] == "422"

    def test_unreadable_rows_are_reported_with_line_numbers_before_anything_is_sent(
        self, cli: Cli, client: httpx.Client, reseller: Reseller, three_items: dict[str, Any], tmp_path: Path
    ) -> None:
        rows = guide_rows(three_items["id"])
        rows[0]["amount"] = "two"
        rows[1]["order_id"] = ""
        rows.append({**rows[2]})  # the same product twice in one ticket
        source = write_csv(tmp_path / "complaints.csv", rows)
        result = cli("ticket", "import", str(source))
        assert result.exit_code == 2
        assert "line 2: amount 'two'" in result.stderr
        assert "line 3: empty order_id" in result.stderr
        assert "line 5: product C" in result.stderr
        assert "nothing was sent" in result.stderr
        assert client.get("/tickets", headers=reseller.headers).json()["tickets"] == []
        missing = write_csv(tmp_path / "short.csv", [{"order_id": "x"}], columns=["order_id", "product_id"])
        short = cli("ticket", "import", str(missing), "--json")
        assert short.exit_code == 2
        assert json.loads(short.stdout)["rows"][0]["line"] == 1
        assert "amount" in json.loads(short.stdout)["rows"][0]["message"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_private_urls": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


class TestEventsFollow:
    def test_prints_events_and_remembers_where_it_stopped(
        self, cli: Cli, client: httpx.Client, reseller: Reseller, order: dict[str, Any], tmp_path: Path
    ) -> None:
        state = str(tmp_path / "state.json")
        ticket = ticket_body(order)
        client.post("/tickets", json=ticket, headers=reseller.headers).raise_for_status()
        client.post(f"/tickets/{ticket['id']}/messages", json={"body": "Hi"}, headers=reseller.headers)
        first = cli("events", "follow", "--once", "--json", "--state", state)
        assert first.exit_code == 0, first.output
        events = [json.loads(line) for line in first.stdout.splitlines()]
        assert [e["type"] for e in events] == ["ticket.created", "ticket.message_added"]
        assert cli("events", "follow", "--once", "--state", state).stdout == ""
        client.post(f"/tickets/{ticket['id']}/messages", json={"body": "More"}, headers=reseller.headers)
        later = cli("events", "follow", "--once", "--state", state)
        assert later.stdout.count("ticket.message_added") == 1
        since = cli("events", "follow", "--once", "--json", "--state", state, "--since", str(events[0]["id"]))
        assert len(since.stdout.splitlines()) == 2

    def test_forward_to_re_signs_each_event(
        self,
        cli: Cli,
        client: httpx.Client,
        reseller: Reseller,
        order: dict[str, Any],
        tmp_path: Path,
        receiver: Receiver,
    ) -> None:
        client.post("/tickets", json=ticket_body(order), headers=reseller.headers).raise_for_status()
        secret = webhooks.new_secret()
        result = cli(
            "events",
            "follow",
            "--once",
            "--state",
            str(tmp_path / "s.json"),
            "--forward-to",
            f"{receiver.url}/local",
            "--secret",
            secret,
        )
        assert result.exit_code == 0, result.output
        assert "→ 200" in result.stdout
        delivered = receiver.for_path("/local")
        assert len(delivered) == 1
        event = webhooks.verify(delivered[0].headers, delivered[0].body, secret)
        assert event.type == "ticket.created"
        assert delivered[0].headers["webhook-id"] == f"msg_{event.data.event_id}"
