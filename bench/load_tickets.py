"""Load a realistic pile of tickets for the console's benchmark: 100,000 by default, in bulk inserts.

    .venv/bin/python bench/load_tickets.py --url sqlite:///bench.db [--tickets 100000] [--seed 1]

Spread like a year of a print supplier's complaints: accounts of very different sizes (a few resellers
file most tickets), reasons and products weighted, more tickets in recent weeks, old tickets nearly all
solved, recent ones open, pending or holding; replies, internal notes, evidence files (a few failed) and
a history that agrees with each ticket's status. Orders without complaints sit beside those with one.
Rows are written with explicit ids in executemany batches; the search index is filled by the migration's
triggers, as in production. Events and jobs are not loaded (the console reads neither).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from claimdesk.accounts.service import Role, create_staff
from claimdesk.console import dashboard
from claimdesk.db import Database
from claimdesk.migrate import upgrade
from claimdesk.models import (
    Account,
    EvidenceFile,
    HistoryEntry,
    Message,
    Order,
    OrderProduct,
    Ticket,
    TicketProduct,
)
from claimdesk.rules.catalogue import Reason
from claimdesk.rules.statuses import TicketStatus

BATCH = 5_000
WEEKS = 52
PRODUCTS = [
    f"{kind}-{size}"
    for kind in ("banner", "flyer", "poster", "cards", "sticker", "rollup", "canvas", "folder", "brochure", "label")
    for size in ("a2", "a3", "a4", "a5", "a6", "510", "850", "dl", "sq", "xl")
]
REASON_WEIGHTS = {
    Reason.DAMAGED: 18,
    Reason.COLOR: 14,
    Reason.PRINT_QUALITY: 12,
    Reason.DELAYED: 10,
    Reason.WRONG_QUANTITY: 7,
    Reason.CUTTING_MILLING_INADEQUATE: 7,
    Reason.DIMENSIONS: 5,
    Reason.NOT_RECEIVED: 5,
    Reason.MISSING: 4,
    Reason.WRONG_PRODUCT: 4,
    Reason.DIRTY: 4,
    Reason.COMMODITY_ITEM_MISSING: 4,
    Reason.PACKING_SLIP_MISSING: 3,
    Reason.OTHER: 3,
}
WORDS = [
    "banner",
    "torn",
    "edges",
    "corner",
    "folded",
    "crease",
    "scratched",
    "smudged",
    "ink",
    "colour",
    "faded",
    "magenta",
    "cyan",
    "too",
    "dark",
    "light",
    "misaligned",
    "cut",
    "crooked",
    "margin",
    "bleed",
    "blurry",
    "pixelated",
    "stain",
    "wet",
    "box",
    "crushed",
    "courier",
    "late",
    "missing",
    "wrong",
    "size",
    "quantity",
    "short",
    "extra",
    "customer",
    "event",
    "fair",
    "tomorrow",
    "urgent",
    "reprint",
    "credit",
    "photo",
    "attached",
    "please",
    "check",
    "again",
    "matte",
    "gloss",
    "paper",
    "weight",
    "lamination",
    "grommets",
    "hem",
    "pole",
    "pocket",
    "eyelets",
    "tape",
    "adhesive",
    "peeling",
    "curling",
]
STAFF = 12
SEQUENCED = ("orders", "order_products", "tickets", "ticket_products", "evidence_files", "messages", "ticket_history")
OUTCOMES = (("rework", 45), ("credit", 30), ("other", 10), ("rejected", 15))


def sentence(rng: random.Random, low: int = 6, high: int = 18) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))
    return text[0].upper() + text[1:] + "."


def batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


class Loader:
    def __init__(self, db: Database, tickets: int, seed: int, now: dt.datetime) -> None:
        self.db = db
        self.count = tickets
        self.rng = random.Random(seed)
        self.now = now
        self.rows: dict[str, list[dict[str, Any]]] = {
            name: [] for name in ("orders", "lines", "tickets", "ticket_lines", "files", "messages", "history")
        }

    def people(self) -> tuple[list[int], list[float], list[tuple[int, str]]]:
        accounts = max(20, self.count // 500)
        with self.db.transaction() as session:
            session.execute(
                sa.insert(Account),
                [
                    {"name": f"Reseller {i:04d} Print GmbH", "callback_secret": "whsec_bench", "created_at": self.now}
                    for i in range(accounts)
                ],
            )
            staff = []
            for i in range(STAFF):
                member, _, _ = create_staff(
                    session, f"bench-agent{i}@supplier.example", role=Role.AGENT, name=f"Agent {i}"
                )
                staff.append((member.id, member.name or member.email))
            ids = list(session.scalars(sa.select(Account.id).order_by(Account.id)))
        # A few resellers file most tickets (Zipf-like weights).
        weights = [1 / (rank + 1) ** 0.9 for rank in range(len(ids))]
        return ids, weights, staff

    def generate(self) -> None:
        rng, now = self.rng, self.now
        accounts, weights, staff = self.people()
        reasons = list(REASON_WEIGHTS)
        reason_weights = list(REASON_WEIGHTS.values())
        product_weights = [1 / (rank + 1) ** 0.7 for rank in range(len(PRODUCTS))]
        order_id = line_id = ticket_id = tline_id = file_id = message_id = history_id = 0
        quiet_orders = self.count // 2  # orders that never get a complaint
        for n in range(self.count + quiet_orders):
            account = rng.choices(accounts, weights)[0]
            # More business in recent weeks: twice as many tickets a day now as a year ago (a linear ramp).
            age_days = WEEKS * 7 * (2 - math.sqrt(4 - 3 * rng.random()))
            ordered_at = now - dt.timedelta(days=age_days + rng.uniform(2, 10))
            order_id += 1
            self.rows["orders"].append(
                {
                    "id": order_id,
                    "account_id": account,
                    "external_id": f"PO-{order_id:07d}",
                    "reference": f"Job {order_id} for customer {rng.randint(1, 9999)}",
                    "customer_email": None,
                    "callback_urls": [],
                    "created_at": ordered_at,
                }
            )
            lines = []
            for position in range(rng.choice((1, 1, 2, 2, 3))):
                line_id += 1
                amount = rng.choice((1, 2, 5, 10, 25, 50, 100, 250, 500))
                code = rng.choices(PRODUCTS, product_weights)[0]
                self.rows["lines"].append(
                    {
                        "id": line_id,
                        "order_id": order_id,
                        "position": position,
                        "key": str(position + 1),
                        "ref_is_int": True,
                        "code": code,
                        "amount": amount,
                    }
                )
                lines.append((line_id, amount))
            if n >= self.count:
                continue
            ticket_id += 1
            created = ordered_at + dt.timedelta(days=rng.uniform(1, 6))
            created = min(created, now - dt.timedelta(minutes=rng.uniform(1, 600)))
            age = (now - created).days
            reason = rng.choices(reasons, reason_weights)[0]
            if age > 28:
                status = rng.choices(list(TicketStatus), (1, 1, 2, 96))[0]
            elif age > 7:
                status = rng.choices(list(TicketStatus), (10, 20, 20, 50))[0]
            else:
                status = rng.choices(list(TicketStatus), (45, 25, 15, 15))[0]
            outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0] if status == "solved" else None
            assignee = rng.choice(staff) if status != "open" or rng.random() < 0.2 else None
            times = sorted(created + dt.timedelta(hours=rng.uniform(0.5, 72)) for _ in range(4))
            times = [min(t, now) for t in times]
            history: list[tuple[str, str, dict[str, Any], str, dt.datetime]] = [
                ("created", "open", {}, "reseller", created)
            ]
            if status in ("pending", "holding", "solved"):
                history.append(("status_changed", "pending", {"from": "open"}, "staff", times[0]))
            if status == "holding":
                history.append(("status_changed", "holding", {"from": "pending"}, "staff", times[1]))
            claimed = rng.sample(lines, rng.randint(1, len(lines)))
            granted_lines = []
            for position, (order_line, amount) in enumerate(claimed):
                tline_id += 1
                take = rng.randint(1, amount)
                granted = None
                if outcome is not None:
                    granted = {"rework": take, "credit": rng.randint(1, take), "other": None, "rejected": 0}[outcome]
                self.rows["ticket_lines"].append(
                    {
                        "id": tline_id,
                        "ticket_id": ticket_id,
                        "order_product_id": order_line,
                        "position": position,
                        "amount": take,
                        "granted": granted,
                    }
                )
                granted_lines.append(tline_id)
                if reason.needs_files or rng.random() < 0.2:
                    file_id += 1
                    state = (
                        "pending" if age < 1 and rng.random() < 0.3 else rng.choices(("stored", "failed"), (95, 5))[0]
                    )
                    self.rows["files"].append(
                        {
                            "id": file_id,
                            "ticket_id": ticket_id,
                            "ticket_product_id": tline_id,
                            "message_id": None,
                            "position": 0,
                            "uri": f"https://photos.reseller.example/{ticket_id}-{position}.jpg",
                            "filename": None,
                            "state": state,
                            "error": "The server answered 404." if state == "failed" else None,
                            "content_type": "image/jpeg" if state == "stored" else None,
                            "size": 180_000 if state == "stored" else None,
                            "sha256": None,
                            "storage_key": None,
                            "thumbnail_key": None,
                            "created_at": created,
                        }
                    )
            resolution = None
            if status == "solved":
                resolution = {"outcome": outcome, "note": sentence(rng, 4, 10)}
                history.append(
                    ("status_changed", "solved", {"from": "pending", "resolution": resolution}, "staff", times[3])
                )
            messages = []
            if status != "open":
                messages.append((False, "staff", times[0] + dt.timedelta(minutes=1)))
                if rng.random() < 0.5:
                    messages.append((False, "reseller", times[2]))
                if rng.random() < 0.3:
                    messages.append((True, "staff", times[1]))
            elif rng.random() < 0.1:
                messages.append((True, "staff", min(now, created + dt.timedelta(minutes=30))))
            for internal, by, at in messages:
                message_id += 1
                by_id, by_name = (account, None) if by == "reseller" else rng.choice(staff)
                self.rows["messages"].append(
                    {
                        "id": message_id,
                        "ticket_id": ticket_id,
                        "body": sentence(rng),
                        "internal": internal,
                        "by_type": by,
                        "by_id": by_id,
                        "by_name": by_name,
                        "created_at": at,
                    }
                )
            for action, after, details, by, at in history:
                history_id += 1
                by_id, by_name = (account, None) if by == "reseller" else rng.choice(staff)
                self.rows["history"].append(
                    {
                        "id": history_id,
                        "ticket_id": ticket_id,
                        "action": action,
                        "status": after,
                        "details": details,
                        "by_type": by,
                        "by_id": by_id,
                        "by_name": by_name,
                        "at": at,
                    }
                )
            last_change = max([created, *[m[2] for m in messages], *[h[4] for h in history]])
            self.rows["tickets"].append(
                {
                    "id": ticket_id,
                    "account_id": account,
                    "order_id": order_id,
                    "external_id": f"RT-{ticket_id:07d}",
                    "description": sentence(rng, 8, 30),
                    "reason": reason.value,
                    "suggested_solution": rng.choice(("rework", "rework", "credit", "other")),
                    "contact_email": "support@reseller.example",
                    "status": status,
                    "resolution": resolution,
                    "outcome": outcome,
                    "assignee_id": assignee[0] if assignee else None,
                    "body_hash": f"{ticket_id:064x}",
                    "event_seq": 1,
                    "version": len(history) + len(messages),
                    "waiting_since": history[-1][4] if status in ("open", "pending") else None,
                    "updated_at": last_change,
                    "created_at": created,
                }
            )

    def write(self) -> None:
        tables = [
            ("orders", Order),
            ("lines", OrderProduct),
            ("tickets", Ticket),
            ("ticket_lines", TicketProduct),
            ("files", EvidenceFile),
            ("messages", Message),
            ("history", HistoryEntry),
        ]
        for name, model in tables:
            started = time.perf_counter()
            for batch in batches(iter(self.rows[name])):
                with self.db.transaction() as session:
                    session.execute(sa.insert(model), batch)
            print(f"  {name}: {len(self.rows[name]):,} rows in {time.perf_counter() - started:.1f} s")
        with self.db.transaction() as session:
            if not self.db.is_sqlite:  # ids were given: the sequences continue after them
                for table in SEQUENCED:
                    session.execute(
                        sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
                    )
            session.execute(sa.text("ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="database URL (migrated first)")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    upgrade(args.url)
    db = Database(args.url)
    started = time.perf_counter()
    loader = Loader(db, args.tickets, args.seed, dt.datetime.now(dt.UTC))
    loader.generate()
    print(f"generated in {time.perf_counter() - started:.1f} s")
    loader.write()
    print(f"loaded {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    days = db.write(dashboard.prepare)
    print(f"dashboard: rolled up {days} days in {time.perf_counter() - started:.1f} s (once; then only new days)")
    db.dispose()


if __name__ == "__main__":
    main()
