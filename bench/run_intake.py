"""POST /tickets throughput and latency at 32 concurrent clients, beside the bare ASGI app on SQLite.

Run by hand (the machine should be otherwise idle):
    .venv/bin/python bench/run_intake.py [--seconds 15] [--rounds 5]
``--database postgresql`` measures claimdesk on a throwaway PostgreSQL cluster (fsync off, as in the tests);
``--spread N`` files concurrent tickets against N orders in turn instead of one order at a time.

Both servers run as separate processes (uvicorn, one worker each); the load comes from wrk (C, its own
process) with bench/tickets.lua, 2 threads and 32 connections. Prints one line per server and the ratio.

Beside the rate, each line gives the server's CPU time per request (user + system, all its threads, read from
/proc during the run). On a machine that is doing other work the rates drift with the load, while CPU time per
request mostly does not: ``cpu ratio`` (bare's CPU per request / claimdesk's) is the figure to compare between
commits when the machine cannot be had idle.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg

from claimdesk.testing.postgres import PostgresServer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
WARM_UP_ORDERS = 900_000  # numbers of the orders the PostgreSQL warm-up files against


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str, seconds: int, key: str, run: str, *, spread: int = 1, order_offset: int = 0) -> dict[str, float]:
    env = {
        **os.environ,
        "BENCH_KEY": key,
        "BENCH_RUN": run,
        "BENCH_THREADS": "2",
        "BENCH_SPREAD": str(spread),
        "BENCH_ORDER_OFFSET": str(order_offset),
    }
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "--timeout", "10s", "-s", str(HERE / "tickets.lua"), url],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    match = re.search(r"RESULT (.*)", out)
    if not match:
        raise RuntimeError(out)
    return {k: float(v) for k, v in (pair.split("=") for pair in match.group(1).split())}


def group_cpu_seconds(group: int) -> float:
    """User + system CPU seconds of every live process in the process group (threads included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # fields after the name: state ppid pgrp ... utime(11) stime(12)
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def measured(server: subprocess.Popen[bytes], run: Callable[[], dict[str, float]]) -> dict[str, float]:
    """wrk's result for ``run`` plus the server's CPU time per request in microseconds."""
    before = group_cpu_seconds(server.pid)
    result = run()
    used = group_cpu_seconds(server.pid) - before
    return {**result, "cpu_us": used / max(result["requests"], 1) * 1e6}


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=30)


def bench_bare(workdir: Path, seconds: int) -> dict[str, float]:
    env = {**os.environ, "BARE_DB": str(workdir / "bare.db")}
    server = start(
        [
            PYTHON,
            "-m",
            "uvicorn",
            "--app-dir",
            str(HERE),
            "bare_app:app",
            "--port",
            "8101",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env,
    )
    try:
        time.sleep(1.0)
        wait_up("http://127.0.0.1:8101/")
        return measured(server, lambda: wrk("http://127.0.0.1:8101/tickets", seconds, "none", "bare"))
    finally:
        stop(server)


def new_account(url: str) -> str:
    env = {**os.environ, "CLAIMDESK_DATABASE_URL": url}
    out = subprocess.run(
        [str(Path(PYTHON).parent / "claimdesk"), "account", "create", "Bench Reseller", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    key: str = json.loads(out)["api_key"]
    return key


def bench_claimdesk(url: str, workdir: Path, seconds: int, expected_rate: float, spread: int) -> dict[str, float]:
    key = new_account(url)
    postgres = url.startswith("postgresql")
    env = {
        **os.environ,
        "CLAIMDESK_DATABASE_URL": url,
        "CLAIMDESK_RATE_LIMIT": "100000000/minute",
        "CLAIMDESK_STORAGE_DIR": str(workdir / "files"),
    }
    server = start(
        [str(Path(PYTHON).parent / "claimdesk"), "serve", "--no-worker", "--no-access-log", "--port", "8102"],
        env,
    )
    try:
        wait_up("http://127.0.0.1:8102/openapi.json")
        orders = int(expected_rate * seconds / 1400) + spread + 1
        headers = {"Authorization": f"Bearer {key}"}
        numbers = list(range(1, orders + 1))
        if postgres:  # the warm-up's own orders, so that it takes no (product, reason) pair of the run
            numbers += [WARM_UP_ORDERS + n for n in range(1, spread + 3)]
        with httpx.Client(base_url="http://127.0.0.1:8102", headers=headers, timeout=30) as client:
            for number in numbers:
                body = {
                    "id": f"bench-order-{number}",
                    "customer_email": "end.customer@example.org",
                    "products": [{"id": p, "amount": 1_000_000} for p in range(1, 101)],
                }
                response = client.post("/order", json=body)
                response.raise_for_status()
        if postgres:
            # PostgreSQL plans a fresh, empty table's lookups blind: until autovacuum first analyzes it
            # (a minute or so in service) a ticket lookup scans the account's tickets. A short warm-up and
            # an ANALYZE measure the service as it runs after that first minute.
            wrk("http://127.0.0.1:8102/tickets", 3, key, "warm", spread=spread, order_offset=WARM_UP_ORDERS)
            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
                conn.execute("ANALYZE")
        return measured(server, lambda: wrk("http://127.0.0.1:8102/tickets", seconds, key, "cd", spread=spread))
    finally:
        stop(server)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--max-rate", type=float, default=8000, help="upper bound of the rate (sizes the seed)")
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="claimdesk's database; postgresql starts a throwaway cluster (fsync off) with initdb/pg_ctl",
    )
    parser.add_argument("--spread", type=int, default=1, help="spread concurrent tickets over this many orders")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate the two servers this many times; the machine's speed drifts, so each ratio is taken "
        "between neighbouring runs and the median is reported",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    postgres = PostgresServer().start() if args.database == "postgresql" else None
    ratios = []
    cpu_ratios = []
    try:
        for round_number in range(1, args.rounds + 1):
            workdir = Path(tempfile.mkdtemp(prefix="claimdesk-bench-"))
            try:
                bare = bench_bare(workdir, args.seconds)
                if postgres is not None:
                    url = postgres.create_database(f"bench{round_number}")
                else:
                    url = f"sqlite:///{workdir / 'claimdesk.db'}"
                ours = bench_claimdesk(url, workdir, args.seconds, args.max_rate, args.spread)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            if args.rounds > 1:
                print(f"round {round_number}")
            for name, result in (("bare ASGI + sqlite3", bare), (f"claimdesk on {args.database}", ours)):
                print(
                    f"{name:26s} {rate(result):8.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                    f"p99 {result['p99_ms']:6.2f} ms  cpu {result['cpu_us']:6.0f} us/req  "
                    f"non-2xx {result['non2xx']:.0f}  "
                    f"socket errors {result['errors']:.0f}"
                )
            ratios.append(rate(ours) / rate(bare))
            cpu_ratios.append(bare["cpu_us"] / ours["cpu_us"])
            print(f"claimdesk / bare = {ratios[-1]:.3f}  cpu ratio = {cpu_ratios[-1]:.3f}", flush=True)
    finally:
        if postgres is not None:
            postgres.stop()
    if args.rounds > 1:
        print(f"median claimdesk / bare over {args.rounds} rounds = {statistics.median(ratios):.3f}")
        print(f"median cpu ratio over {args.rounds} rounds = {statistics.median(cpu_ratios):.3f}")


def rate(result: dict[str, float]) -> float:
    return result["requests"] / result["seconds"]


if __name__ == "__main__":
    main()
