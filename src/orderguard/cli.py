"""The `orderguard` command: demo, serve, worker, migrate, policy, ledger, accounts, bench."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from orderguard.app.context import Context
from orderguard.bootstrap import ModeRefused, build_context
from orderguard.settings import Settings

app = typer.Typer(no_args_is_help=True, help="OrderGuard: order protection for a multi-seller marketplace.")
policy_app = typer.Typer(no_args_is_help=True, help="Show the policy and the lifecycles drawn from it.")
ledger_app = typer.Typer(no_args_is_help=True, help="Check the double-entry ledger.")
accounts_app = typer.Typer(
    no_args_is_help=True, help="Manage accounts and their bearer tokens (in the database's own mode)."
)
app.add_typer(policy_app, name="policy")
app.add_typer(ledger_app, name="ledger")
app.add_typer(accounts_app, name="accounts")
console = Console()


def _context(sandbox: bool | None = None, migrate: bool = True, follow_database: bool = False) -> Context:
    """The running context; a database of the other mode, or none reachable, ends the command
    with one line on stderr and exit status 2."""
    from sqlalchemy.exc import OperationalError

    settings = Settings()
    if sandbox is not None:
        settings = settings.model_copy(update={"sandbox": sandbox})
    try:
        return build_context(settings, migrate=migrate, follow_database=follow_database)
    except ModeRefused as e:
        _fail(str(e))
    except OperationalError as e:
        _fail(f"cannot use the database: {_first_line(e.orig or e)}")


def _fail(message: str) -> NoReturn:
    typer.echo(f"orderguard: {message}", err=True)
    raise typer.Exit(2)


def _first_line(e: BaseException) -> str:
    return next(iter(str(e).strip().splitlines()), type(e).__name__)


def _write_secret(path: Path, text: str) -> None:
    """Write a file only its owner can read: created 0600, never wider for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left by an older version may be wider; it is empty now
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _serve(ctx: Context, host: str, port: int, scheduler: bool) -> None:
    import uvicorn

    from orderguard.api.app_factory import create_app
    from orderguard.scheduler.worker import start_in_background

    if scheduler:
        start_in_background(ctx, Settings().scheduler_poll_seconds)
    from orderguard.observability.logs import log_config

    # Structured logs (JSON unless stderr is a terminal), uvicorn's included; each request is logged
    # by the API itself, with its id (api/request_metrics.py), so uvicorn's access log is off.
    uvicorn.run(
        create_app(ctx), host=host, port=port, log_level="info", log_config=log_config(), access_log=False
    )


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="port to serve on")] = 8000,
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
) -> None:
    """Sandbox mode: migrate, seed a sample marketplace, serve the API and the scheduler."""
    from orderguard.app.seed import is_seeded
    from orderguard.demo_banner import seed_showing_progress

    ctx = _context(sandbox=True)
    tokens_file = Path("var/demo-tokens.txt")
    if not is_seeded(ctx):
        tokens_file.parent.mkdir(parents=True, exist_ok=True)
        made = seed_showing_progress(ctx)  # progress on stderr
        _write_secret(tokens_file, "".join(f"{a.role}\t{a.name}\t{a.token}\n" for a in made))
    elif tokens_file.exists():
        tokens_file.chmod(0o600)  # written by an older version, which left it readable by all
    saved = tokens_file.read_text().splitlines() if tokens_file.exists() else []
    accounts = [line.split("\t") for line in saved]
    base = f"http://{host}:{port}"
    console.print(
        f"[bold]OrderGuard demo[/] (sandbox, virtual clock at {ctx.clock.now():%Y-%m-%d %H:%M} UTC)"
    )
    database = make_url(Settings().database_url).render_as_string(hide_password=True)
    console.print(f"  API      {base}/v1\n  Docs     {base}/docs\n  Database {database}")
    if accounts:
        table = Table("role", "name", "bearer token")
        for role, name, token in accounts:
            table.add_row(role, name, token)
        console.print(table)
        console.print(f"  (tokens kept in {tokens_file})")
    from orderguard.demo_banner import print_guide

    print_guide(console, ctx, accounts)  # product ids, and the store each seller account owns
    console.print(f"  Try: curl -H 'Authorization: Bearer <buyer token>' {base}/v1/orders", soft_wrap=True)
    _serve(ctx, host, port, scheduler=True)


@app.command()
def serve(
    port: Annotated[int, typer.Option()] = 8000,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    scheduler: Annotated[bool, typer.Option(help="also fire deadlines in this process")] = True,
) -> None:
    """Serve the API (ORDERGUARD_SANDBOX=true for sandbox mode)."""
    _serve(_context(), host, port, scheduler)


@app.command()
def worker(
    until_idle: Annotated[bool, typer.Option(help="exit once nothing is due")] = False,
    batch: Annotated[int, typer.Option(help="deadlines claimed per transaction")] = 500,
    poll: Annotated[float, typer.Option(help="seconds between polls when idle")] = 1.0,
) -> None:
    """Fire deadlines as they fall due; run as many as you like against PostgreSQL."""
    from orderguard.observability.logs import configure_logging
    from orderguard.scheduler.worker import work

    configure_logging()  # JSON lines on stderr unless it is a terminal
    stats = work(_context(migrate=False), poll_seconds=poll, batch=batch, until_idle=until_idle)
    typer.echo(stats.summary())  # on SIGTERM / SIGINT too, then exit 0


@app.command()
def migrate() -> None:
    """Apply the database migrations; a new database takes the mode of ORDERGUARD_SANDBOX for good."""
    ctx = _context(migrate=True, follow_database=True)
    console.print(f"database is at the latest schema ({'sandbox' if ctx.sandbox else 'production'} database)")


@policy_app.command("show")
def policy_show(file: Annotated[Path | None, typer.Option(help="policy file")] = None) -> None:
    """Print the policy in force and its version."""
    from orderguard.app.context import DEFAULT_POLICY_FILE, load_policy_file

    path = file or Settings().policy_file or DEFAULT_POLICY_FILE
    version = load_policy_file(path)
    console.print(f"# version {version.key} (sha256 {version.content_hash})\n# file {path}")
    print(path.read_text())


@policy_app.command("diagram")
def policy_diagram(
    machine: Annotated[
        str, typer.Argument(help="order | payment | shipment | cancellation_request | refund | proof_request")
    ] = "order",
    file: Annotated[Path | None, typer.Option(help="policy file whose numbers label the timed edges")] = None,
) -> None:
    """Print a lifecycle as a Mermaid state diagram, drawn from its transition table and its timers."""
    from orderguard.app.context import DEFAULT_POLICY_FILE, load_policy_file
    from orderguard.domain.deadlines import MACHINES

    if machine not in MACHINES:
        raise typer.BadParameter(f"one of {', '.join(MACHINES)}")
    policy = load_policy_file(file or Settings().policy_file or DEFAULT_POLICY_FILE).policy
    print(MACHINES[machine].mermaid(policy))


@ledger_app.command("check")
def ledger_check() -> None:
    """Verify that every transaction balances, no escrow is negative, and refunds reconcile; exit 1 if not."""
    from orderguard.ledger_check import run_ledger_check

    ctx = _context(migrate=False, follow_database=True)
    count, problems = run_ledger_check(ctx.engine)  # progress on stderr; the result kept for /metrics
    for p in problems:
        console.print(f"[red]{p.kind}[/] {p.subject}: {p.detail}")
    if problems:
        console.print(f"[red]ledger check failed[/]: {len(problems)} problem(s) in {count} transactions")
        raise typer.Exit(1)
    console.print(f"ledger ok: {count} transactions balance, no escrow is negative, refunds reconcile")


ExpiresIn = Annotated[
    int | None, typer.Option("--expires-in", min=1, max=3650, help="days until the token expires")
]


@accounts_app.command("create")
def accounts_create(
    role: Annotated[str, typer.Option(help="buyer | seller | admin")],
    name: Annotated[str, typer.Option()],
    email: Annotated[str | None, typer.Option()] = None,
    expires_in: ExpiresIn = None,
) -> None:
    """Create an account and print its bearer token (shown once)."""
    from orderguard.app.accounts import create_account

    with _refusals():
        new = create_account(_context(follow_database=True), role, name, email, expires_in=_days(expires_in))
    typer.echo(f"{new.role} {new.id}\ntoken: {new.token}")


@accounts_app.command("token")
def accounts_token(
    account_id: Annotated[str, typer.Argument(help="the account (acc_…)")], expires_in: ExpiresIn = None
) -> None:
    """Issue another bearer token for an account (shown once); its other tokens keep working."""
    from orderguard.app.accounts import issue_token

    with _refusals():
        new = issue_token(_context(follow_database=True), account_id, expires_in=_days(expires_in))
    expiry = f"expires {new.expires_at:%Y-%m-%d %H:%M} UTC" if new.expires_at else "never expires"
    typer.echo(f"{new.id} ({expiry})\ntoken: {new.token}")


@accounts_app.command("tokens")
def accounts_tokens(account_id: Annotated[str, typer.Argument(help="the account (acc_…)")]) -> None:
    """List an account's tokens: id, created, expires, revoked (the tokens themselves are not kept)."""
    from orderguard.app.accounts import list_tokens

    with _refusals():
        rows = list_tokens(_context(follow_database=True), account_id)
    print("token id\tcreated\texpires\trevoked")  # tab-separated: easy to read and to script
    for row in rows:
        print(f"{row.id}\t{_when(row.created_at)}\t{_when(row.expires_at)}\t{_when(row.revoked_at)}")


@accounts_app.command("revoke")
def accounts_revoke(
    token: Annotated[str | None, typer.Argument(help="the token (og_…) or its id (tok_…)")] = None,
    account: Annotated[str | None, typer.Option(help="revoke every token of this account instead")] = None,
) -> None:
    """Revoke a token, or with --account every token of an account; it stops working at once."""
    from orderguard.app.accounts import revoke_all_tokens, revoke_token

    if (token is None) == (account is None):
        _fail("name one token (og_… or tok_…) or one --account")
    with _refusals():
        ctx = _context(follow_database=True)
        if account is not None:
            typer.echo(f"revoked {revoke_all_tokens(ctx, account)} token(s) of {account}")
            return
        assert token is not None
        row = revoke_token(ctx, token)
    typer.echo(f"{row.id} of {row.account_id} revoked at {_when(row.revoked_at)}")


@contextmanager
def _refusals() -> Iterator[None]:
    from orderguard.domain.machine import Refused

    try:
        yield
    except Refused as e:
        console.print(f"[red]{e.refusal.code}[/]: {e.refusal.detail}")
        raise typer.Exit(2) from e


def _days(days: int | None) -> timedelta | None:
    return None if days is None else timedelta(days=days)


def _when(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M} UTC"


@app.command()
def bench(
    orders: Annotated[int, typer.Option(help="orders to place and pay")] = 5000,
    firings: Annotated[int, typer.Option(help="due deadlines to fire")] = 20000,
    pg_url: Annotated[str, typer.Option(help="PostgreSQL server for the PostgreSQL run")] = (
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
) -> None:
    """Benchmarks (not tests): orders placed and paid per second, deadline firings per second."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks.run import main

    main(orders=orders, firings=firings, pg_url=pg_url)


if __name__ == "__main__":
    app()
