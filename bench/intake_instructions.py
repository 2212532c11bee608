"""Instructions per POST /tickets on SQLite, counted by callgrind: a figure that does not drift with the load.

Run by hand (valgrind from Debian's packages):
    .venv/bin/python bench/intake_instructions.py [--tickets 300] [--in-flight 1] [--keep out/callgrind.out]

``--keep`` keeps callgrind's output, for a profile by function: ``callgrind_annotate --inclusive=yes FILE``.

``bench/run_intake.py`` measures throughput, which on a shared 2-core machine moves with whatever else runs;
this counts the instructions the server executes for a fixed number of tickets (the same total on a busy machine
as on an idle one, within a fraction of a percent at --in-flight 1), so two commits can be compared at any time.
The server starts under callgrind with collection off, is warmed up, collects for exactly the measured tickets,
and the total is divided by their number. It counts CPU work only: waiting (fsync, locks) is not in it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PYTHON = sys.executable
BIN = Path(PYTHON).parent
REASONS = ["damaged", "commodity-item-missing", "color", "dimensions", "other", "print-quality", "delayed"]
REASONS += ["wrong-quantity", "wrong-product", "missing", "dirty", "not-received", "packing-slip-missing"]
REASONS += ["cutting-milling-inadequate"]


def body(n: int) -> dict[str, object]:
    reason = REASONS[n % len(REASONS)]
    product = (n // len(REASONS)) % 100 + 1
    order = n // (len(REASONS) * 100) + 1
    return {
        "order_id": f"bench-order-{order}",
        "id": f"instr-{n}",
        "description": "Two banners arrived torn",
        "reason": reason,
        "suggested_solution": "rework",
        "contact_email": "support@reseller.example",
        "products": [{"id": product, "amount": 1, "files": [{"uri": f"https://93.184.215.14/photos/{n}.jpg"}]}],
    }


def wait_up(url: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--in-flight", type=int, default=1, help="tickets sent at once (1: the count is repeatable)")
    parser.add_argument("--port", type=int, default=8103)
    parser.add_argument("--keep", type=Path, help="copy callgrind's output here, for callgrind_annotate")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="claimdesk-instr-"))
    url = f"sqlite:///{work / 'claimdesk.db'}"
    env = {
        **os.environ,
        "CLAIMDESK_DATABASE_URL": url,
        "CLAIMDESK_RATE_LIMIT": "100000000/minute",
        "CLAIMDESK_STORAGE_DIR": str(work / "files"),
        # The key epoch is read once per recheck period, a time and not a number of tickets: under callgrind
        # (some fifty times slower) the default second would put an epoch read in every few tickets.
        "CLAIMDESK_API_KEY_RECHECK_SECONDS": os.environ.get("CLAIMDESK_API_KEY_RECHECK_SECONDS", "60"),
    }
    out = subprocess.run(
        [str(BIN / "claimdesk"), "account", "create", "Bench Reseller", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    key = json.loads(out)["api_key"]
    out_file = work / "callgrind.out"
    server = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out_file}",
            str(BIN / "claimdesk"),
            "serve",
            "--no-worker",
            "--no-access-log",
            "--port",
            str(args.port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_up(f"{base}/openapi.json")
        total = args.warm_up + args.tickets
        orders = total // (len(REASONS) * 100) + 1
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
            for number in range(1, orders + 1):
                order = {
                    "id": f"bench-order-{number}",
                    "customer_email": "end.customer@example.org",
                    "products": [{"id": p, "amount": 1_000_000} for p in range(1, 101)],
                }
                client.post("/order", json=order).raise_for_status()

            def send(n: int) -> None:
                response = client.post("/tickets", json=body(n))
                assert response.status_code == 201, response.text

            with concurrent.futures.ThreadPoolExecutor(args.in_flight) as pool:
                list(pool.map(send, range(args.warm_up)))
                subprocess.run(["callgrind_control", "-i", "on", str(server.pid)], check=True, capture_output=True)
                list(pool.map(send, range(args.warm_up, total)))
                subprocess.run(["callgrind_control", "-i", "off", str(server.pid)], check=True, capture_output=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=120)
    instructions = 0
    for dump in work.glob("callgrind.out*"):
        if args.keep is not None:
            shutil.copyfile(dump, args.keep.with_name(args.keep.name + dump.name.removeprefix("callgrind.out")))
        match = re.search(r"^totals: (\d+)", dump.read_text(errors="replace"), re.MULTILINE)
        if match:
            instructions += int(match.group(1))
    print(f"{instructions / args.tickets / 1e6:.3f} M instructions per ticket ({args.tickets} tickets)")


if __name__ == "__main__":
    main()
