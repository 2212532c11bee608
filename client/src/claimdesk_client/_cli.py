"""``claimdesk-client``: the SDK on the command line. Tables for people, ``--json`` for machines.

Exit codes: 0 done, 1 refused by the server (an error answer, an invalid ticket, rows refused),
2 usage (bad arguments, unreadable input, no API key), 3 the server could not be reached.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import httpx
import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import _importer as importer
from . import webhooks
from ._client import Client, ConfigurationError
from ._exceptions import APIError, ClaimdeskError, ConnectionFailed
from ._models import Event, Order, OrderNotFound, Ticket
from ._retry import RetryPolicy

OK, REFUSED, USAGE, UNREACHABLE = 0, 1, 2, 3
EVENTS_PAGE = 200  # the most GET /events gives at once: fewer polls

app = typer.Typer(
    help="claimdesk-client: file and follow complaint tickets from the command line.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ticket_app = typer.Typer(help="File, check, read and answer tickets.", no_args_is_help=True)
order_app = typer.Typer(help="Orders.", no_args_is_help=True)
events_app = typer.Typer(help="Ticket events.", no_args_is_help=True)
app.add_typer(ticket_app, name="ticket")
app.add_typer(order_app, name="order")
app.add_typer(events_app, name="events")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")]


@dataclass
class State:
    url: str | None = None
    api_key: str | None = None
    timeout: float = 30.0
    retries: int = 3
    as_json: bool = False
    _client: Client | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def client(self) -> Client:
        if self._client is None:
            retry = RetryPolicy(max_retries=self.retries)
            self._client = Client(self.url, self.api_key, timeout=self.timeout, retry=retry)
        return self._client


# The options of the running command, set by the group's callback before any command runs.
_current: ContextVar[State] = ContextVar("claimdesk_client_state")


def _state() -> State:
    state = _current.get(None)
    if state is None:
        state = State()
        _current.set(state)
    return state


@app.callback()
def options(
    ctx: typer.Context,
    *,
    url: Annotated[str | None, typer.Option(envvar="CLAIMDESK_URL", help="The service's base URL.")] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="CLAIMDESK_API_KEY", help="Your API key.", show_default=False)
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each answer.")] = 30.0,
    retries: Annotated[int, typer.Option(min=0, max=10, help="Retries of a failed call, where safe.")] = 3,
    as_json: JsonFlag = False,
) -> None:
    """Configured by CLAIMDESK_URL and CLAIMDESK_API_KEY (or --url and --api-key)."""
    ctx.obj = State(url=url, api_key=api_key, timeout=timeout, retries=retries, as_json=as_json)
    _current.set(ctx.obj)


P = ParamSpec("P")
R = TypeVar("R")


def handled(command: Callable[P, R]) -> Callable[P, R]:
    """Errors become a message (or JSON) and their exit code."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = bool(kwargs.get("as_json"))
        try:
            return command(*args, **kwargs)
        except ConfigurationError as exc:
            _fail(USAGE, exc, as_json=as_json)
        except APIError as exc:
            _fail(REFUSED, exc, as_json=as_json)
        except ConnectionFailed as exc:
            _fail(UNREACHABLE, exc, as_json=as_json)
        except ClaimdeskError as exc:
            _fail(REFUSED, exc, as_json=as_json)
        finally:
            _state().close()

    return run


def _json_mode(flag: bool) -> bool:
    return flag or _state().as_json


def _fail(code: int, exc: ClaimdeskError, *, as_json: bool) -> NoReturn:
    body: dict[str, Any] = {"error": exc.message, "status": exc.status, "request_id": exc.request_id}
    if isinstance(exc, APIError):
        body["errors"] = [e.model_dump() for e in exc.errors]
        if "ticket" in exc.body:
            body["ticket"] = exc.body["ticket"]
    if _json_mode(as_json):
        _print_json(body)
    else:
        err.print(f"[red]error:[/red] {exc.message}")
        if isinstance(exc, APIError) and exc.errors:
            table = Table("loc", "code", "message", title="what is wrong", title_justify="left")
            for e in exc.errors:
                table.add_row(e.loc, e.code, e.message)
            err.print(table)
        if exc.request_id:
            err.print(f"[dim]request id: {exc.request_id}[/dim]")
    raise typer.Exit(code)


def _usage(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(USAGE)


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(_dump(value), ensure_ascii=False))


def _read_json(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        _usage(f"cannot read {path}: {exc.strerror}")
    try:
        return json.loads(text)
    except ValueError as exc:
        _usage(f"{path} is not JSON: {exc}")


def _ticket_body(path: str) -> dict[str, Any]:
    body = _read_json(path)
    if not isinstance(body, dict):
        _usage(f"{path}: a ticket is a JSON object")
    return body


# -- tickets ------------------------------------------------------------------------------------------------


@ticket_app.command("submit")
@handled
def ticket_submit(
    file: Annotated[str, typer.Argument(help="The ticket as JSON (the guide's ticket breakdown), or - for stdin.")],
    as_json: JsonFlag = False,
) -> None:
    """File a ticket. One that is already there with the same body is fine (exit 0, and says so)."""
    receipt = _state().client().tickets.create(_ticket_body(file))
    if _json_mode(as_json):
        _print_json({**receipt.model_dump(mode="json", by_alias=True), "already_received": receipt.already_received})
        return
    what = "filed" if receipt.created else "was already there (the same body); nothing changed"
    out.print(f"Ticket [bold]{receipt.ticket.id}[/bold] (number {receipt.ticket.number}) {what}.")
    _show_ticket(receipt.ticket)


@ticket_app.command("validate")
@handled
def ticket_validate(
    file: Annotated[str, typer.Argument(help="The ticket as JSON, or - for stdin.")],
    as_json: JsonFlag = False,
) -> None:
    """Check a ticket as submit would, storing nothing (exit 1 with every mistake if it is not valid)."""
    _state().client().tickets.validate(_ticket_body(file))
    if _json_mode(as_json):
        _print_json({"valid": True})
    else:
        out.print("The ticket is valid.")


@ticket_app.command("show")
@handled
def ticket_show(ticket_id: Annotated[str, typer.Argument(help="Your ticket id.")], as_json: JsonFlag = False) -> None:
    """One ticket: its products and files, history and messages."""
    ticket = _state().client().tickets.get(ticket_id)
    if _json_mode(as_json):
        _print_json(ticket)
    else:
        _show_ticket(ticket)


@ticket_app.command("list")
@handled
def ticket_list(
    *,
    status: Annotated[str | None, typer.Option(help="open, pending, holding or solved")] = None,
    reason: Annotated[str | None, typer.Option(help="one of the reasons")] = None,
    order_id: Annotated[str | None, typer.Option("--order-id", help="your order id")] = None,
    updated_since: Annotated[str | None, typer.Option(help="RFC 3339; changed at or after it")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="at most this many tickets")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Your tickets, newest first (all pages, or --limit)."""
    found = _state().client().tickets.list(status=status, reason=reason, order_id=order_id, updated_since=updated_since)
    tickets = _take(found, limit)
    if _json_mode(as_json):
        _print_json(tickets)
        return
    table = Table("id", "number", "order", "reason", "solution", "status", "products", "updated")
    for t in tickets:
        table.add_row(
            t.id,
            str(t.number),
            t.order_id,
            t.reason,
            t.suggested_solution,
            t.status,
            ", ".join(f"{p.id} x{p.amount}" for p in t.products),
            _when(t.updated_at),
        )
    out.print(table)
    out.print(f"{len(tickets)} ticket{'s' if len(tickets) != 1 else ''}")


@ticket_app.command("reply")
@handled
def ticket_reply(
    ticket_id: Annotated[str, typer.Argument(help="Your ticket id.")],
    text: Annotated[str, typer.Argument(help="The reply.")],
    file: Annotated[list[str] | None, typer.Option("--file", help="A file URL to add (repeatable).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Reply in a ticket's thread (a reply to a holding ticket makes it pending)."""
    ticket = _state().client().tickets.reply(ticket_id, text, files=file)
    if _json_mode(as_json):
        _print_json(ticket)
    else:
        out.print(f"Reply added; ticket {ticket.id} is {ticket.status}.")


@ticket_app.command("import")
@handled
def ticket_import(
    csv_file: Annotated[Path, typer.Argument(help="One row per complaint line.", exists=True, dir_okay=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate every ticket, create none.")] = False,
    result: Annotated[Path | None, typer.Option(help="Where to write the result CSV.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Tickets in flight at once.")] = 8,
    as_json: JsonFlag = False,
) -> None:
    """File tickets from a CSV of complaint lines, grouped as the guide says (one ticket per order, reason
    and solution). Safe to run again after a crash: nothing is filed twice.

    Columns: order_id, product_id, amount, reason, solution, contact_email, and optionally description and
    photo_urls (whitespace-separated URLs).
    """
    as_json = _json_mode(as_json)
    try:
        with csv_file.open(newline="", encoding="utf-8-sig") as source:
            rows, unreadable = importer.read_rows(source)
    except (UnicodeDecodeError, csv.Error) as exc:
        _usage(f"{csv_file} cannot be read as a UTF-8 CSV file: {exc}")
    plans, conflicts = importer.plan_tickets(rows)
    unreadable = sorted(unreadable + conflicts, key=lambda u: u.line)
    if unreadable:
        if as_json:
            _print_json({"error": "rows cannot be read", "rows": [u.__dict__ for u in unreadable]})
        else:
            err.print(f"[red]error:[/red] {len(unreadable)} row(s) of {csv_file} cannot be read; nothing was sent.")
            for u in unreadable:
                err.print(f"  line {u.line}: {u.message}")
        raise typer.Exit(USAGE)
    client = _state().client()
    result_path = result or csv_file.with_name(csv_file.stem + (".dry-run" if dry_run else "") + ".result.csv")
    results = importer.ResultFile(result_path)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    interrupted = False
    with Progress(*columns, console=err, transient=as_json, disable=as_json) as progress:
        task = progress.add_task("validating" if dry_run else "filing", total=len(rows))
        try:
            importer.run(
                client,
                plans,
                results,
                dry_run=dry_run,
                concurrency=concurrency,
                progress=lambda n: progress.advance(task, n),
            )
        except KeyboardInterrupt:
            interrupted = True
        finally:
            results.close()
    counts: dict[str, int] = {}
    for r in results.results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    refused = [r for r in sorted(results.results, key=lambda r: r.row.line) if r.outcome == importer.REFUSED]
    summary = {
        "rows": len(rows),
        "tickets": len(plans),
        "dry_run": dry_run,
        "counts": counts,
        "result": str(result_path),
        "interrupted": interrupted,
        "refused": [r.as_dict() for r in refused],
    }
    if as_json:
        _print_json(summary)
    else:
        table = Table("outcome", "rows", title=f"{len(rows)} rows in {len(plans)} tickets", title_justify="left")
        for outcome, count in sorted(counts.items()):
            table.add_row(outcome.replace("_", " "), str(count))
        out.print(table)
        if refused:
            shown = Table("line", "order", "product", "ticket", "codes", "messages", title="refused rows")
            for r in refused[:50]:
                shown.add_row(
                    str(r.row.line), r.row.order_id, r.row.product_id, r.ticket_id, " ".join(r.codes), *r.messages[:1]
                )
            out.print(shown)
        out.print(f"Result per row: {result_path}")
        if interrupted:
            err.print("Interrupted: run the same command again to finish; nothing is filed twice.")
    if interrupted:
        raise typer.Exit(130)
    if counts.get(importer.UNREACHABLE):
        raise typer.Exit(UNREACHABLE)
    if refused:
        raise typer.Exit(REFUSED)


# -- orders, catalogue --------------------------------------------------------------------------------------


@order_app.command("status")
@handled
def order_status(
    order_ids: Annotated[list[str], typer.Argument(help="Your order ids (#123 for a supplier order number).")],
    as_json: JsonFlag = False,
) -> None:
    """Orders with their products, how many items can still be claimed, and their tickets."""
    queries: list[str | int] = [int(q[1:]) if q.startswith("#") and q[1:].isdigit() else q for q in order_ids]
    found = _state().client().orders.status(*queries)
    missing = [f for f in found if isinstance(f, OrderNotFound)]
    if _json_mode(as_json):
        _print_json(found)
    else:
        for query, order in zip(order_ids, found, strict=True):
            if isinstance(order, Order):
                _show_order(order)
            else:
                err.print(f"[red]{query}:[/red] {order.error}")
    if missing:
        raise typer.Exit(REFUSED)


@app.command("reasons")
@handled
def reasons(as_json: JsonFlag = False) -> None:
    """The reasons a ticket may give, and which need files."""
    found = _state().client().reasons()
    if _json_mode(as_json):
        _print_json(found)
        return
    table = Table("value", "label", "files required", "explanation")
    for r in found:
        table.add_row(r.value, r.label, "yes" if r.files_required else "", r.explanation or "")
    out.print(table)


@app.command("solutions")
@handled
def solutions(as_json: JsonFlag = False) -> None:
    """The solutions a ticket may suggest."""
    found = _state().client().solutions()
    if _json_mode(as_json):
        _print_json(found)
        return
    table = Table("value", "label", "explanation")
    for s in found:
        table.add_row(s.value, s.label, s.explanation or "")
    out.print(table)


# -- events -------------------------------------------------------------------------------------------------


def _default_state_file(client: Client, key: str | None) -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "claimdesk-client"
    tag = hashlib.sha256(f"{client.base_url} {key or ''}".encode()).hexdigest()[:16]
    return base / f"events-{tag}.json"


def _load_since(path: Path) -> int:
    try:
        return int(json.loads(path.read_text())["since"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _save_since(path: Path, since: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps({"since": since}))
    partial.replace(path)


def _forward(http: httpx.Client, url: str, secret: str, event: Event) -> str:
    body = json.dumps(
        {"type": event.type, "timestamp": event.model_dump(mode="json")["timestamp"], "data": _dump(event.data)},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    headers = {"content-type": "application/json", **webhooks.sign(secret, f"msg_{event.data.event_id}", body)}
    try:
        answer = http.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return f"not delivered: {exc or type(exc).__name__}"
    return f"{answer.status_code}"


@events_app.command("follow")
@handled
def events_follow(
    *,
    since: Annotated[
        int | None, typer.Option(min=0, help="Start after this event id (default: where it stopped).")
    ] = None,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between polls once caught up.")] = 5.0,
    state_file: Annotated[Path | None, typer.Option("--state", help="Where the last event id is kept.")] = None,
    forward_to: Annotated[
        str | None, typer.Option(help="POST each event, signed (Standard Webhooks), to this URL.")
    ] = None,
    secret: Annotated[
        str | None, typer.Option(envvar="CLAIMDESK_FORWARD_SECRET", help="whsec_ secret to sign forwarded events.")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Stop when caught up instead of waiting for more.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print events as they come (one JSON object a line with --json), polling within the rate limit and
    remembering where it stopped. --forward-to re-signs each with a local secret and POSTs it, so a webhook
    handler can be built on your machine before the service can reach it."""
    state = _state()
    client = state.client()
    as_json = _json_mode(as_json)
    path = state_file or _default_state_file(client, state.api_key or os.environ.get("CLAIMDESK_API_KEY"))
    position = since if since is not None else _load_since(path)
    http = httpx.Client(timeout=10.0) if forward_to else None
    if forward_to and not secret:
        secret = webhooks.new_secret()
        err.print(f"Forwarding to {forward_to}, signed with {secret} (pass --secret to keep one).")
    try:
        while True:
            for event in client.events.list(since=position, page_size=EVENTS_PAGE):
                forwarded = _forward(http, forward_to, secret, event) if http and forward_to and secret else None
                _print_event(event, forwarded, as_json=as_json)
                position = event.data.event_id
                _save_since(path, position)
            if once:
                return
            time.sleep(_polite_wait(client, interval))
    except KeyboardInterrupt:
        return
    finally:
        if http is not None:
            http.close()


def _polite_wait(client: Client, interval: float) -> float:
    """The interval, or longer when less than a fifth of the key's budget is left (other programs use it)."""
    limiter = client._settings.limiter
    if limiter is None or limiter.limit is None or limiter.remaining is None or limiter.reset_at is None:
        return interval
    if limiter.remaining < limiter.limit / 5:
        return max(interval, limiter.reset_at - time.monotonic())
    return interval


def _print_event(event: Event, forwarded: str | None, *, as_json: bool) -> None:
    if as_json:
        line = event.model_dump(mode="json", by_alias=True)
        if forwarded is not None:
            line["forwarded"] = forwarded
        _print_json(line)
        return
    ticket = event.data.ticket
    tail = f"  → {forwarded}" if forwarded is not None else ""
    out.print(
        f"{event.data.event_id:>8}  {_when(event.timestamp)}  {event.type:<24} {ticket.id} ({ticket.status}){tail}"
    )


# -- rendering ----------------------------------------------------------------------------------------------


def _take(items: Iterator[Ticket], limit: int | None) -> list[Ticket]:
    taken: list[Ticket] = []
    for item in items:
        if limit is not None and len(taken) >= limit:
            break
        taken.append(item)
    return taken


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _show_ticket(ticket: Ticket) -> None:
    facts = Table.grid(padding=(0, 2))
    for label, value in (
        ("ticket", f"{ticket.id} (number {ticket.number})"),
        ("order", f"{ticket.order_id} (supplier order {ticket.supplier_order_number})"),
        ("status", ticket.status),
        ("reason", ticket.reason),
        ("solution", ticket.suggested_solution),
        ("contact", ticket.contact_email),
        ("description", ticket.description or ""),
        ("resolution", f"{ticket.resolution.outcome}: {ticket.resolution.note or ''}" if ticket.resolution else ""),
    ):
        facts.add_row(f"[bold]{label}[/bold]", value)
    out.print(facts)
    products = Table("product", "code", "amount", "files")
    for p in ticket.products:
        products.add_row(str(p.id), p.code or "", str(p.amount), "\n".join(f"{f.state} {f.uri}" for f in p.files))
    out.print(products)
    if ticket.history:
        history = Table("at", "action", "status", "by", title="history", title_justify="left")
        for h in ticket.history:
            history.add_row(_when(h.at), h.action, h.status, h.by.name or h.by.type)
        out.print(history)
    if ticket.messages:
        messages = Table("at", "by", "message", title="messages", title_justify="left")
        for m in ticket.messages:
            messages.add_row(_when(m.at), m.by.name or m.by.type, m.body)
        out.print(messages)


def _show_order(order: Order) -> None:
    table = Table("product", "code", "amount", "claimable", title=f"order {order.id} (#{order.supplier_order_number})")
    for p in order.products:
        table.add_row(str(p.id), p.code or "", str(p.amount), "" if p.claimable is None else str(p.claimable))
    out.print(table)
    for t in order.tickets or []:
        out.print(f"  ticket {t.id}: {t.reason}, {t.status}")


def main(argv: Sequence[str] | None = None) -> None:
    app(args=list(argv) if argv is not None else None, prog_name="claimdesk-client")
