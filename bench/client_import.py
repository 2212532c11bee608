"""``claimdesk-client ticket import`` of 10,000 rows against ``claimdesk serve`` on its default SQLite.

Run by hand:
    .venv/bin/python bench/client_import.py [--orders 2500] [--concurrency 4] [--rate-limit 1000000/minute]

Each order gets four rows: two products damaged (with a photo URL) and the same two delayed, so 2,500 orders
are 10,000 rows in 5,000 tickets. The server runs as its own process (``--no-worker``, so evidence fetches
do not compete with intake; the rate limit raised, else 300/minute paces 5,000 tickets over 17 minutes).
Prints the time of the first run (every ticket created) and of a second one (every ticket already there).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
PHOTO = "https://93.184.215.14/photos/{}.jpg"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rate-limit", default="1000000/minute")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "CLAIMDESK_DATABASE_URL": f"sqlite:///{tmp}/claimdesk.db",
            "CLAIMDESK_RATE_LIMIT": args.rate_limit,
            "CLAIMDESK_STORAGE_DIR": f"{tmp}/files",
        }
        made = subprocess.run(
            [BIN / "claimdesk", "account", "create", "Bench reseller", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = json.loads(made.stdout)["api_key"]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [BIN / "claimdesk", "serve", "--port", str(port), "--no-worker", "--no-access-log"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
                for _ in range(300):
                    try:
                        http.get("/reasons")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                source = Path(tmp) / "complaints.csv"
                with source.open("w", newline="") as out:
                    writer = csv.writer(out)
                    writer.writerow(
                        ["order_id", "product_id", "amount", "reason", "solution", "photo_urls", "contact_email"]
                    )
                    for n in range(args.orders):
                        order = {
                            "id": f"bench-{n}",
                            "products": [{"id": 17, "amount": 3}, {"id": "flyer", "amount": 500}],
                        }
                        http.post("/order", json=order).raise_for_status()
                        for product in (17, "flyer"):
                            writer.writerow(
                                [order["id"], product, 1, "damaged", "rework", PHOTO.format(n), "s@r.example"]
                            )
                            writer.writerow([order["id"], product, 1, "delayed", "credit", "", "s@r.example"])
            client_env = {**env, "CLAIMDESK_URL": url, "CLAIMDESK_API_KEY": key}
            command = [
                str(BIN / "claimdesk-client"),
                "--json",
                "ticket",
                "import",
                str(source),
                "--concurrency",
                str(args.concurrency),
            ]
            for label in ("first run (all created)", "second run (all already there)"):
                start = time.perf_counter()
                done = subprocess.run(command, env=client_env, capture_output=True, text=True, check=False)
                elapsed = time.perf_counter() - start
                summary = json.loads(done.stdout)
                rows, tickets = summary["rows"], summary["tickets"]
                print(
                    f"{label}: {rows} rows, {tickets} tickets in {elapsed:.1f} s "
                    f"({rows / elapsed:.0f} rows/s, {tickets / elapsed:.0f} tickets/s), "
                    f"exit {done.returncode}, {dict(Counter(summary['counts']))}"
                )
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
