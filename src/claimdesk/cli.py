"""The ``claimdesk`` command: serve, worker, db, account, staff."""

from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from sqlalchemy.orm import Session

from .accounts.keys import revoke_keys, rotate_key
from .accounts.service import Role, create_account, create_staff
from .accounts.users import add_user, list_users, remove_user
from .api.requestid import LOG_FORMAT, install_log_records, uvicorn_log_config
from .config import Environment, UnsafeSettings, get_settings
from .db import Database
from .exceptions import ClaimdeskError
from .migrate import upgrade
from .timefmt import rfc3339

app = typer.Typer(help="claimdesk: complaint tickets for print suppliers and their resellers.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
account_app = typer.Typer(help="Reseller accounts.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff members.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(account_app, name="account")
app.add_typer(staff_app, name="staff")

console = Console(stderr=True)


class LogLevel(enum.StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def _log_to_stderr(level: LogLevel = LogLevel.INFO) -> None:
    """The worker's and the service's own messages (jobs retried, given up) next to uvicorn's."""
    install_log_records()
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # SQL is logged only when CLAIMDESK_SQL_ECHO says so, whatever the level: SQLAlchemy keeps its loggers
    # at WARNING unless the engine echoes.


def _database() -> Database:
    return Database(get_settings().database_url)


def _create(unit: Callable[[Session], dict[str, Any]], *, as_json: bool, title: str, settle: float = 0.0) -> None:
    """Run ``unit`` in one transaction on a migrated database and print what it made (secrets shown once),
    ``settle`` seconds after it committed."""
    upgrade(get_settings().database_url)
    db = _database()
    try:
        result = db.write(unit)
    except ClaimdeskError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    time.sleep(settle)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        console.print(Panel.fit(json.dumps(result, indent=2), title=title))


def _fail(exc: ClaimdeskError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc.message}")
    for problem in exc.problems:
        if problem.message != exc.message:
            console.print(f"  {problem.loc}: {problem.message}")
    return typer.Exit(code=1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations (Alembic) to CLAIMDESK_DATABASE_URL."""
    url = get_settings().database_url
    upgrade(url)
    console.print(f"database at {url.split('@')[-1]} is up to date")


@db_app.command("backup")
def db_backup(path: Annotated[Path, typer.Argument(help="The file to write (it must not exist yet)")]) -> None:
    """A consistent copy of the live SQLite database (safe while the service runs); on PostgreSQL, the
    pg_dump command to run."""
    from . import backup

    try:
        made = backup.backup(get_settings().database_url, path)
    except backup.UseOtherTool as exc:
        console.print(exc.message)
        typer.echo(exc.command)
        raise typer.Exit(code=1) from None
    except backup.BackupError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from None
    console.print(f"backed up to {made.describe()}")


@db_app.command("restore")
def db_restore(path: Annotated[Path, typer.Argument(help="A file made by `claimdesk db backup`")]) -> None:
    """Put a backup back as the SQLite database (stop every claimdesk process using it first); on
    PostgreSQL, the pg_restore command to run."""
    from . import backup

    try:
        done = backup.restore(get_settings().database_url, path)
    except backup.UseOtherTool as exc:
        console.print(exc.message)
        typer.echo(exc.command)
        raise typer.Exit(code=1) from None
    except backup.BackupError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from None
    console.print(f"restored {done.snapshot.describe()} into {done.database}")
    if done.previous is not None:
        console.print(f"the database it replaced is kept at {done.previous}")
    if done.upgraded_to is not None:
        console.print(f"migrated from {done.snapshot.revision} to {done.upgraded_to}")


@account_app.command("create")
def account_create(
    name: str, as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False
) -> None:
    """Create a reseller account; prints its API key (shown only now) and callback secret."""

    def unit(session: Session) -> dict[str, Any]:
        account, key = create_account(session, name)
        return {
            "account": {"id": account.id, "name": account.name},
            "api_key": key,
            "callback_secret": account.callback_secret,
        }

    _create(unit, as_json=as_json, title="new account: keep the API key, it is shown once")


@account_app.command("add-user")
def account_add_user(
    account_id: Annotated[int, typer.Argument(help="The account's id (from `account create`)")],
    email: str,
    name: Annotated[str | None, typer.Option(help="The person's name, shown in the portal")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Add a person of a reseller account who signs in to the web portal; prints their password (shown once)."""

    def unit(session: Session) -> dict[str, Any]:
        new = add_user(session, account_id, email, name=name)
        return {
            "user": {"id": new.user.id, "email": new.user.email, "account_id": new.user.account_id},
            "password": new.password,
        }

    _create(unit, as_json=as_json, title="new portal user: the password is shown once")


@account_app.command("users")
def account_users(account_id: Annotated[int, typer.Argument(help="The account's id")]) -> None:
    """List the people of a reseller account who sign in to the web portal."""
    upgrade(get_settings().database_url)
    db = _database()
    try:
        users = db.read(
            lambda session: [(u.id, u.email, u.name, u.created_at) for u in list_users(session, account_id)]
        )
    except ClaimdeskError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    table = Table(title=f"Portal users of account {account_id}")
    for column in ("id", "email", "name", "created"):
        table.add_column(column)
    for user_id, user_email, user_name, created in users:
        table.add_row(str(user_id), user_email, user_name or "", created.strftime("%Y-%m-%d %H:%M UTC"))
    Console().print(table if users else f"Account {account_id} has no portal users yet.")


@account_app.command("remove-user")
def account_remove_user(
    account_id: Annotated[int, typer.Argument(help="The account's id")],
    email: str,
) -> None:
    """Remove a portal user of the account; their web sessions end at once."""
    upgrade(get_settings().database_url)
    db = _database()
    try:
        removed = db.write(lambda session: remove_user(session, account_id, email).email)
    except ClaimdeskError as exc:
        raise _fail(exc) from None
    finally:
        db.dispose()
    console.print(f"removed {removed} from account {account_id}; their sessions have ended")


@account_app.command("rotate-key")
def account_rotate_key(
    account_id: Annotated[int, typer.Argument(help="The account's id")],
    grace_hours: Annotated[
        float | None,
        typer.Option(min=0, help="How long the old key keeps working (default CLAIMDESK_API_KEY_GRACE_HOURS, 24)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """A new API key for the account (shown only now); the old one keeps working for the grace period."""
    hours = get_settings().api_key_grace_hours if grace_hours is None else grace_hours

    def unit(session: Session) -> dict[str, Any]:
        rotation = rotate_key(session, account_id, grace=dt.timedelta(hours=hours))
        ends = rotation.old_keys_expire_at
        return {
            "account": {"id": account_id},
            "api_key": rotation.key,
            "old_keys": rotation.old_keys,
            "old_keys_expire_at": rfc3339(ends) if ends is not None else None,
        }

    _create(unit, as_json=as_json, title="new API key: keep it, it is shown once")


@account_app.command("revoke-key")
def account_revoke_key(
    account_id: Annotated[int, typer.Argument(help="The account's id")],
    new_key: Annotated[bool, typer.Option("--new-key", help="Give the account a new key at once")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """End every API key of the account now, on every process (rotated ones in their grace period too)."""

    def unit(session: Session) -> dict[str, Any]:
        revocation = revoke_keys(session, account_id, replace=new_key)
        return {"account": {"id": account_id}, "revoked": revocation.revoked, "api_key": revocation.key}

    # Every process looks for revocations this often: once it has passed, none accepts the old keys, and
    # only then does the command answer.
    title = "keys revoked" + (": keep the new key, it is shown once" if new_key else "")
    _create(unit, as_json=as_json, title=title, settle=get_settings().api_key_recheck_seconds)


@staff_app.command("create")
def staff_create(
    email: str,
    role: Annotated[Role, typer.Option(help="agent or admin")] = Role.AGENT,
    name: Annotated[str | None, typer.Option(help="Name shown on tickets")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Create a staff member; prints the API key and password (shown only now)."""

    def unit(session: Session) -> dict[str, Any]:
        staff, key, password = create_staff(session, email, role=role, name=name)
        return {
            "staff": {"id": staff.id, "email": staff.email, "role": staff.role, "name": staff.name},
            "api_key": key,
            "password": password,
        }

    _create(unit, as_json=as_json, title="new staff member: the key and password are shown once")


@app.command()
def serve(  # noqa: PLR0917 (Typer passes options by name; one per option)
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Run the background worker in-process")] = True,
    demo: Annotated[bool, typer.Option("--demo", help="Add demo data and print demo credentials")] = False,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request")] = True,
    log_level: Annotated[LogLevel, typer.Option(help="The least important messages logged")] = LogLevel.INFO,
) -> None:
    """Run the API (and the background worker, unless --no-worker). Migrates the database first."""
    settings = get_settings()
    problems = settings.production_problems()
    if demo and settings.env is Environment.PRODUCTION:
        problems.append("--demo puts published keys and passwords in the database (leave it out)")
    if problems:  # before the log, the migrations or the port: one line saying what to set
        typer.echo(f"error: {UnsafeSettings(problems)}", err=True)
        raise typer.Exit(code=2)
    _log_to_stderr(log_level)
    import uvicorn

    from .app import create_app

    upgrade(settings.database_url)
    database = Database(settings.database_url, echo=settings.sql_echo, pool_size=settings.database_pool_size)
    if demo:
        from .demo import seed, seed_console
        from .files.storage import get_storage

        with database.transaction() as session:
            creds = seed(session)
            seed_console(session, get_storage(settings), thumbnail_px=settings.thumbnail_px)
        base = f"http://{host}:{port}"
        # The demo runs on plain HTTP: session cookies without Secure, unless the setting was given.
        if "secure_cookies" not in settings.model_fields_set:
            settings = settings.model_copy(update={"secure_cookies": False})
        # Plain lines, never wrapped, so that keys and the curl line can be copied as they are.
        console.print(
            f"[bold]claimdesk demo[/bold]\n"
            f"  API       {base}   (interactive docs: {base}/docs)\n"
            f"  sign in   {base}/login\n"
            f"  console   {base}/console   staff: {creds.staff_email} / {creds.staff_password}\n"
            f"  portal    {base}/portal   reseller user: {creds.user_email} / {creds.user_password}\n"
            f"  reseller  Authorization: Bearer {creds.reseller_key}\n"
            f"  staff     Authorization: Bearer {creds.staff_key}   ({creds.staff_email} / {creds.staff_password})\n"
            f"  orders    demo-order-1001 (products 17, 18), demo-order-1002, demo-order-1003\n"
            f"  try       curl -s {base}/reasons -H 'Authorization: Bearer {creds.reseller_key}'\n",
            soft_wrap=True,
            highlight=False,
        )
    from .slowclients import guarded_protocol

    uvicorn.run(
        create_app(settings, database=database, worker=worker),
        host=host,
        port=port,
        # Slow clients: deadlines for a request's headers and body, and for idle kept-alive connections.
        http=guarded_protocol(settings.request_head_timeout_seconds, settings.request_body_timeout_seconds),
        timeout_keep_alive=settings.keep_alive_seconds,
        log_level=log_level.value,
        access_log=access_log,
        log_config=uvicorn_log_config(),
        proxy_headers=False,
    )


@app.command("worker")
def run_worker() -> None:
    """Run only the background worker (file fetches, webhook deliveries); any number may run."""
    _log_to_stderr()
    from .worker import run_forever

    settings = get_settings()
    upgrade(settings.database_url)
    run_forever(Database(settings.database_url, pool_size=settings.database_pool_size), settings)


def main() -> None:
    app()
