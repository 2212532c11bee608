"""``ticket import``: complaint lines from a CSV file, grouped into tickets as the guide says.

One row is one complaint line: ``order_id``, ``product_id``, ``amount``, ``reason``, ``solution``,
``description``, ``photo_urls`` (whitespace-separated) and ``contact_email``. Rows with the same order,
reason and solution become one ticket (the guide: "group your complaints on reason, solution and a group
of products"); the rest is up to the server, which checks every rule.

Each ticket's id is derived from its content (``imp_`` and a hash of the body), and its body is built the
same way every time (products sorted by id): a second run over the same file, after a crash or a Ctrl-C,
sends the same ids with the same bodies, and the server answers the tickets it already has with
``200 Ticket already received`` instead of making them again.
"""

from __future__ import annotations

import csv
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ._client import Client
from ._exceptions import APIError, ConnectionFailed

REQUIRED = ("order_id", "product_id", "amount", "reason", "solution", "contact_email")
OPTIONAL = ("description", "photo_urls")
ID_PREFIX = "imp_"

CREATED = "created"
ALREADY_THERE = "already_there"
REFUSED = "refused"
VALID = "valid"
UNREACHABLE = "not_sent"

RESULT_COLUMNS = ("line", "order_id", "product_id", "ticket_id", "outcome", "status", "codes", "messages")


@dataclass(frozen=True)
class Row:
    line: int
    order_id: str
    product_id: str
    amount: int
    reason: str
    solution: str
    description: str
    photo_urls: tuple[str, ...]
    contact_email: str


@dataclass(frozen=True)
class Unreadable:
    """A row (or the header, line 1) that cannot be read; nothing is sent while any exists."""

    line: int
    message: str


@dataclass
class TicketPlan:
    """One ticket to file and the rows it is made of (its products in ``body['products']`` order)."""

    body: dict[str, Any]
    rows: list[Row]

    @property
    def ticket_id(self) -> str:
        return str(self.body["id"])


@dataclass(frozen=True)
class RowResult:
    row: Row
    ticket_id: str
    outcome: str
    status: int | None = None
    codes: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.row.line,
            "order_id": self.row.order_id,
            "product_id": self.row.product_id,
            "ticket_id": self.ticket_id,
            "outcome": self.outcome,
            "status": self.status,
            "codes": list(self.codes),
            "messages": list(self.messages),
        }


def read_rows(source: TextIO) -> tuple[list[Row], list[Unreadable]]:
    """Every readable row, and every problem with its line number (the header is line 1)."""
    reader = csv.DictReader(source)
    columns = [c.strip() for c in reader.fieldnames or []]
    reader.fieldnames = columns
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        return [], [Unreadable(1, f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")]
    rows: list[Row] = []
    problems: list[Unreadable] = []
    for record in reader:
        line = reader.line_num
        if not any((v or "").strip() for k, v in record.items() if k is not None):
            continue  # a blank line
        if None in record:
            problems.append(Unreadable(line, "more fields than the header has columns"))
            continue
        values = {k: (v or "").strip() for k, v in record.items() if k is not None}
        empty = [c for c in REQUIRED if not values.get(c)]
        if empty:
            problems.append(Unreadable(line, f"empty {', '.join(empty)}"))
            continue
        amount_text = values["amount"]
        if not amount_text.isdigit() or int(amount_text) < 1:
            problems.append(Unreadable(line, f"amount {amount_text!r} is not a whole number of 1 or more"))
            continue
        rows.append(
            Row(
                line=line,
                order_id=values["order_id"],
                product_id=values["product_id"],
                amount=int(amount_text),
                reason=values["reason"],
                solution=values["solution"],
                description=values.get("description", ""),
                photo_urls=tuple(values.get("photo_urls", "").split()),
                contact_email=values["contact_email"],
            )
        )
    return rows, problems


def ticket_id_for(body: dict[str, Any]) -> str:
    """The ticket id derived from everything else in the body: the same rows give the same id."""
    canonical = json.dumps({k: v for k, v in body.items() if k != "id"}, sort_keys=True, separators=(",", ":"))
    return ID_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def plan_tickets(rows: Sequence[Row]) -> tuple[list[TicketPlan], list[Unreadable]]:
    """One ticket per order, reason and solution, in the order of their first rows."""
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.order_id, row.reason, row.solution), []).append(row)
    plans: list[TicketPlan] = []
    problems: list[Unreadable] = []
    for (order_id, reason, solution), members in groups.items():
        first_of: dict[str, Row] = {}
        for row in members:
            earlier = first_of.setdefault(row.product_id, row)
            if earlier is not row:
                problems.append(
                    Unreadable(
                        row.line,
                        f"product {row.product_id} of order {order_id} is already on line {earlier.line} "
                        f"with reason {reason} and solution {solution}",
                    )
                )
            if row.contact_email.lower() != members[0].contact_email.lower():
                problems.append(
                    Unreadable(
                        row.line,
                        f"contact_email differs from line {members[0].line}, which is in the same ticket "
                        f"(order {order_id}, reason {reason}, solution {solution})",
                    )
                )
        ordered = sorted(first_of.values(), key=lambda r: r.product_id)
        body: dict[str, Any] = {
            "order_id": order_id,
            "reason": reason,
            "suggested_solution": solution,
            "contact_email": members[0].contact_email,
            "products": [_line(r) for r in ordered],
        }
        descriptions = list(dict.fromkeys(r.description for r in members if r.description))
        if descriptions:
            body["description"] = "\n".join(descriptions)
        body["id"] = ticket_id_for(body)
        plans.append(TicketPlan(body, ordered))
    return plans, sorted(problems, key=lambda p: p.line)


def _line(row: Row) -> dict[str, Any]:
    line: dict[str, Any] = {"id": row.product_id, "amount": row.amount}
    if row.photo_urls:
        line["files"] = [{"uri": uri} for uri in row.photo_urls]
    return line


def _refused(plan: TicketPlan, error: APIError) -> list[RowResult]:
    """Each row with the field errors at its product line, and those at the ticket itself."""
    own: dict[int, list[tuple[str, str]]] = {i: [] for i in range(len(plan.rows))}
    shared: list[tuple[str, str]] = []
    for problem in error.errors:
        parts = problem.loc.split(".")
        if len(parts) >= 2 and parts[0] == "products" and parts[1].isdigit() and int(parts[1]) in own:
            own[int(parts[1])].append((problem.code, f"{problem.loc}: {problem.message}"))
        else:
            shared.append((problem.code, f"{problem.loc}: {problem.message}"))
    results = []
    for index, row in enumerate(plan.rows):
        found = own[index] + shared or [("", error.message)]
        results.append(
            RowResult(
                row,
                plan.ticket_id,
                REFUSED,
                error.status,
                tuple(c for c, _ in found if c),
                tuple(m for _, m in found),
            )
        )
    return results


def submit(client: Client, plan: TicketPlan, *, dry_run: bool) -> list[RowResult]:
    """File (or, dry, validate) one planned ticket; what happened to each of its rows."""
    try:
        if dry_run:
            client.tickets.validate(plan.body)
            outcome, status = VALID, 200
        else:
            receipt = client.tickets.create(plan.body)
            outcome, status = (CREATED, 201) if receipt.created else (ALREADY_THERE, 200)
    except APIError as exc:
        return _refused(plan, exc)
    except ConnectionFailed as exc:
        return [RowResult(r, plan.ticket_id, UNREACHABLE, None, (), (exc.message,)) for r in plan.rows]
    return [RowResult(r, plan.ticket_id, outcome, status) for r in plan.rows]


@dataclass
class ResultFile:
    """The result CSV, written as tickets finish (so a killed run leaves what it did) and rewritten in line
    order at the end."""

    path: Path
    results: list[RowResult] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._file = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(RESULT_COLUMNS)

    def add(self, results: Iterable[RowResult]) -> None:
        with self.lock:
            for result in results:
                self.results.append(result)
                self._writer.writerow(_csv_row(result))
            self._file.flush()

    def close(self) -> None:
        self._file.close()
        partial = self.path.with_name(self.path.name + ".tmp")
        with partial.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(RESULT_COLUMNS)
            writer.writerows(_csv_row(r) for r in sorted(self.results, key=lambda r: r.row.line))
        partial.replace(self.path)


def _csv_row(result: RowResult) -> list[Any]:
    data = result.as_dict()
    return [
        data["line"],
        data["order_id"],
        data["product_id"],
        data["ticket_id"],
        data["outcome"],
        data["status"] if data["status"] is not None else "",
        " ".join(result.codes),
        " | ".join(result.messages),
    ]


def run(
    client: Client,
    plans: Sequence[TicketPlan],
    results: ResultFile,
    *,
    dry_run: bool,
    concurrency: int,
    progress: Callable[[int], None],
) -> None:
    """Submit every plan, ``concurrency`` at a time; ``progress`` is called with each ticket's row count."""
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        pending: Iterator[TicketPlan] = iter(plans)
        running: set[Future[list[RowResult]]] = set()
        # At most twice the pool's size queued: a Ctrl-C leaves little half-started work behind.
        try:
            for plan in pending:
                while len(running) >= 2 * max(1, concurrency):
                    _collect(running, results, progress, block=True)
                running.add(pool.submit(submit, client, plan, dry_run=dry_run))
                _collect(running, results, progress, block=False)
            while running:
                _collect(running, results, progress, block=True)
        except BaseException:
            for future in running:
                future.cancel()
            raise


def _collect(
    running: set[Future[list[RowResult]]], results: ResultFile, progress: Callable[[int], None], *, block: bool
) -> None:
    done, _ = wait(running, timeout=None if block else 0, return_when=FIRST_COMPLETED)
    for future in done:
        running.discard(future)
        rows = future.result()
        results.add(rows)
        progress(len(rows))
