"""Agents changing one ticket at the same moment: one wins, the others get a 409; no lost update.

Real concurrent HTTP requests from threads, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from claimdesk.db import Database
from claimdesk.testing.server import ThreadedServer
from tests.factories import new_staff

from .support import world

AGENTS = 6


def race(server: ThreadedServer, requests: list[tuple[str, dict[str, Any], dict[str, str]]]) -> list[int]:
    """Send every request at once, each from its own thread and connection; the status codes in order."""
    barrier = threading.Barrier(len(requests))
    codes: list[int] = [0] * len(requests)

    def send(index: int, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            client.get("/reasons", headers=headers)  # open the connection before the start line
            barrier.wait()
            codes[index] = client.post(path, json=body, headers=headers).status_code

    threads = [threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def test_same_move_one_wins(server: ThreadedServer, client: httpx.Client, db: Database) -> None:
    w = world(client, db)
    ticket = w.ticket()
    agents = [new_staff(db) for _ in range(AGENTS)]
    body = {"status": "solved", "resolution": {"outcome": "credit", "note": "Refunded."}}
    codes = race(server, [(f"/staff/tickets/{ticket['number']}/status", body, a.headers) for a in agents])
    assert sorted(codes) == [200] + [409] * (AGENTS - 1)
    view = w.staff_get(ticket["number"])
    assert [h["action"] for h in view["history"]] == ["created", "status_changed"]
    assert [e.type for e in w.events(ticket["number"])] == ["ticket.created", "ticket.status_changed"]


def test_different_moves_from_one_version_one_wins(server: ThreadedServer, client: httpx.Client, db: Database) -> None:
    w = world(client, db)
    ticket = w.ticket()
    version = w.staff_get(ticket["number"])["version"]
    agents = [new_staff(db) for _ in range(AGENTS)]
    moves = ["pending", "holding"] * (AGENTS // 2)
    requests = [
        (f"/staff/tickets/{ticket['number']}/status", {"status": move, "version": version}, a.headers)
        for a, move in zip(agents, moves, strict=True)
    ]
    codes = race(server, requests)
    assert sorted(codes) == [200] + [409] * (AGENTS - 1)
    view = w.staff_get(ticket["number"])
    assert view["version"] == version + 1
    assert len(view["history"]) == 2
    assert len(w.events(ticket["number"])) == 2


def test_reply_racing_a_solve(server: ThreadedServer, client: httpx.Client, db: Database) -> None:
    """Either the reply lands before the ticket is solved, or it is refused: never a message after solved."""
    w = world(client, db)
    ticket = w.ticket()
    assert w.move(ticket["number"], "holding").status_code == 200
    solve = {"status": "solved", "resolution": {"outcome": "other", "note": "Done."}}
    codes = race(
        server,
        [
            (f"/staff/tickets/{ticket['number']}/status", solve, w.staff.headers),
            (f"/tickets/{ticket['id']}/messages", {"body": "One more thing"}, w.reseller.headers),
        ],
    )
    view = w.staff_get(ticket["number"])
    assert view["status"] == "solved"
    if codes[1] == 201:  # the reply came first and moved the ticket to pending; then it was solved
        assert codes[0] == 200
        assert [h["status"] for h in view["history"]] == ["open", "holding", "pending", "solved"]
    else:
        assert codes == [200, 409]
        assert view["messages"] == []
    sequences = [e.sequence for e in w.events(ticket["number"])]
    assert sequences == list(range(1, len(sequences) + 1))
