"""The yardstick: a minimal ASGI app that stores one ticket row per POST in SQLite, nothing else.

Same database settings as claimdesk (WAL, synchronous=FULL), same server (uvicorn), same body; it does no
validation, no rules, no events. claimdesk's intake rate is reported as a fraction of this one's.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

DB_PATH = os.environ.get("BARE_DB", "/tmp/claimdesk-bare.db")

conn = sqlite3.connect(DB_PATH, isolation_level=None, check_same_thread=False)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=FULL")
conn.execute("CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY, external_id TEXT UNIQUE, body TEXT)")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    data = json.loads(body)
    cursor = conn.execute("INSERT INTO tickets (external_id, body) VALUES (?, ?)", (data["id"], body.decode()))
    answer = json.dumps({"status": "open", "ticket": {"id": data["id"], "number": cursor.lastrowid}}).encode()
    await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": answer})
