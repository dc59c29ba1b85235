"""The `orderguard` command: demo, serve, worker, migrate, policy, ledger, accounts, bench."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from orderguard.app.context import Context
from orderguard.bootstrap import build_context
from orderguard.settings import Settings

app = typer.Typer(no_args_is_help=True, help="OrderGuard: order protection for a multi-seller marketplace.")
policy_app = typer.Typer(no_args_is_help=True, help="Show the policy and the lifecycles drawn from it.")
ledger_app = typer.Typer(no_args_is_help=True, help="Check the double-entry ledger.")
accounts_app = typer.Typer(no_args_is_help=True, help="Manage accounts outside sandbox mode.")
app.add_typer(policy_app, name="policy")
app.add_typer(ledger_app, name="ledger")
app.add_typer(accounts_app, name="accounts")
console = Console()


def _context(sandbox: bool | None = None, migrate: bool = True) -> Context:
    settings = Settings()
    if sandbox is not None:
        settings = settings.model_copy(update={"sandbox": sandbox})
    return build_context(settings, migrate=migrate)


def _serve(ctx: Context, host: str, port: int, scheduler: bool) -> None:
    import uvicorn

    from orderguard.api.app_factory import create_app
    from orderguard.scheduler.worker import start_in_background

    if scheduler:
        start_in_background(ctx, Settings().scheduler_poll_seconds)
    uvicorn.run(create_app(ctx), host=host, port=port, log_level="info")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="port to serve on")] = 8000,
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
) -> None:
    """Sandbox mode: migrate, seed a sample marketplace, serve the API and the scheduler."""
    from orderguard.app.seed import is_seeded, seed

    ctx = _context(sandbox=True)
    tokens_file = Path("var/demo-tokens.txt")
    if not is_seeded(ctx):
        tokens_file.parent.mkdir(parents=True, exist_ok=True)
        tokens_file.write_text("".join(f"{a.role}\t{a.name}\t{a.token}\n" for a in seed(ctx)))
    saved = tokens_file.read_text().splitlines() if tokens_file.exists() else []
    accounts = [line.split("\t") for line in saved]
    base = f"http://{host}:{port}"
    console.print(
        f"[bold]OrderGuard demo[/] (sandbox, virtual clock at {ctx.clock.now():%Y-%m-%d %H:%M} UTC)"
    )
    console.print(f"  API      {base}/v1\n  Docs     {base}/docs\n  Database {Settings().database_url}")
    if accounts:
        table = Table("role", "name", "bearer token")
        for role, name, token in accounts:
            table.add_row(role, name, token)
        console.print(table)
        console.print(f"  (tokens kept in {tokens_file})")
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
    from orderguard.scheduler.worker import run

    fired = run(_context(migrate=False), poll_seconds=poll, batch=batch, until_idle=until_idle)
    console.print(f"fired {fired} deadlines")


@app.command()
def migrate() -> None:
    """Apply the database migrations."""
    _context(migrate=True)
    console.print("database is at the latest schema")


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
    machine: Annotated[str, typer.Argument(help="order | payment | shipment")] = "order",
) -> None:
    """Print a lifecycle as a Mermaid state diagram, drawn from its transition table."""
    from orderguard.domain.orders import ORDER
    from orderguard.domain.payments import PAYMENT
    from orderguard.domain.shipping import SHIPMENT

    machines = {"order": ORDER, "payment": PAYMENT, "shipment": SHIPMENT}
    if machine not in machines:
        raise typer.BadParameter(f"one of {', '.join(machines)}")
    print(machines[machine].mermaid())


@ledger_app.command("check")
def ledger_check() -> None:
    """Verify that every transaction balances and no escrow is negative; exit 1 if not."""
    from orderguard.store.db import reading
    from orderguard.store.ledger_repo import check

    ctx = _context(migrate=False)
    with reading(ctx.engine) as conn:
        count, problems = check(conn)
    for p in problems:
        console.print(f"[red]{p.kind}[/] {p.subject}: {p.detail}")
    if problems:
        console.print(f"[red]ledger check failed[/]: {len(problems)} problem(s) in {count} transactions")
        raise typer.Exit(1)
    console.print(f"ledger ok: {count} transactions balance, no escrow is negative")


@accounts_app.command("create")
def accounts_create(
    role: Annotated[str, typer.Option(help="buyer | seller | admin")],
    name: Annotated[str, typer.Option()],
    email: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create an account and print its bearer token (shown once)."""
    from orderguard.app.accounts import create_account
    from orderguard.domain.machine import Refused

    try:
        new = create_account(_context(), role, name, email)
    except Refused as e:
        console.print(f"[red]{e.refusal.code}[/]: {e.refusal.detail}")
        raise typer.Exit(2) from e
    console.print(f"{new.role} {new.id}\ntoken: {new.token}")


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
