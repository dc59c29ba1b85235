"""The `orderguard` command: demo, serve, worker, migrate, policy, ledger, accounts, bench.

Two rules hold for every command:

- **A mistake is one line.** A bad option, an ORDERGUARD_* variable with a value it cannot take, a
  database out of reach or behind, a policy file that is not one, a port in use: the command prints
  `orderguard: <what is wrong>: <what to do>` on stderr and exits 2 (usage errors included), never
  a trace. `ledger check` exits 1 when the ledger is wrong.
- **Imports are lazy.** This module imports only Typer at load time, so `orderguard --help` answers
  at once; each command imports what it uses.

Machine-readable output (`policy show`, `policy diagram`, `accounts tokens`) is written as it is,
never through Rich, which would wrap it at the terminal's width.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer._click.exceptions import ClickException
from typer.core import TyperGroup

if TYPE_CHECKING:
    from orderguard.app.context import Context
    from orderguard.settings import Settings


class _OneLineErrors(TyperGroup):
    """Click's usage errors (a bad option value, a missing argument) as one line on stderr, exit 2."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except ClickException as e:
            if type(e).__name__ != "NoArgsIsHelpError":  # that one has printed the help already
                typer.echo(f"orderguard: {_usage_error(e)}", err=True)
            sys.exit(e.exit_code)
        except typer.Abort:
            typer.echo("orderguard: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _usage_error(e: ClickException) -> str:
    ctx = getattr(e, "ctx", None)
    if ctx is None:
        return e.format_message()
    return f"{e.format_message().rstrip('.')} (see `{ctx.command_path} --help`)"


app = typer.Typer(
    cls=_OneLineErrors,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a crash's locals may hold secrets
    help="OrderGuard: order protection for a multi-seller marketplace.",
)
policy_app = typer.Typer(no_args_is_help=True, help="Show the policy and the lifecycles drawn from it.")
ledger_app = typer.Typer(no_args_is_help=True, help="Check the double-entry ledger.")
accounts_app = typer.Typer(
    no_args_is_help=True, help="Manage accounts and their bearer tokens (in the database's own mode)."
)
app.add_typer(policy_app, name="policy")
app.add_typer(ledger_app, name="ledger")
app.add_typer(accounts_app, name="accounts")

Port = Annotated[int, typer.Option(min=1, max=65535, help="port to serve on")]
Host = Annotated[str, typer.Option(help="interface to bind")]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"orderguard: {message}", err=True)
    raise typer.Exit(code)


def _settings(**overrides: Any) -> Settings:
    """The settings from the environment; a variable with a value it cannot take ends the command."""
    from orderguard.settings import SettingsInvalid, load_settings

    try:
        return load_settings(**overrides)
    except SettingsInvalid as e:
        _fail(str(e))


@contextmanager
def _startup() -> Iterator[None]:
    """Whatever stops OrderGuard from starting ends the command with its one line."""
    from orderguard.bootstrap import StartupError

    try:
        yield
    except StartupError as e:
        _fail(str(e))


def _context(
    settings: Settings | None = None, migrate: bool = True, follow_database: bool = False
) -> Context:
    """The running context; a database of the other mode, none reachable, one behind the code, or a
    policy file that is not one, ends the command with one line on stderr and exit status 2."""
    from orderguard.bootstrap import build_context

    with _startup():
        return build_context(settings or _settings(), migrate=migrate, follow_database=follow_database)


def _write_secret(path: Path, text: str) -> None:
    """Write a file only its owner can read: created 0600, never wider for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left by an older version may be wider; it is empty now
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _check_port(host: str, port: int) -> None:
    """Say now, before any banner, that the address cannot be listened on (uvicorn would say so only
    after the banner claimed the server was up)."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as e:
        _fail(f"--host {host!r} is not a name or address this machine knows ({e.strerror}): use 127.0.0.1")
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                _fail(f"port {port} on {host} is already in use: stop what holds it, or pass another --port")
            if e.errno == errno.EADDRNOTAVAIL:
                _fail(f"--host {host} is not an address of this machine: use 127.0.0.1, or 0.0.0.0 for all")
            if e.errno == errno.EACCES:
                _fail(f"port {port} needs privileges this user lacks: pass a --port above 1023")
            _fail(f"cannot listen on {host}:{port} ({e.strerror})")


def _serve(ctx: Context, settings: Settings, host: str, port: int, scheduler: bool, workers: int = 1) -> None:
    import uvicorn

    from orderguard.heap import settle_for_serving
    from orderguard.scheduler.worker import start_in_background

    if scheduler:  # one scheduler, in this process, whatever the number of API processes
        start_in_background(ctx, settings.scheduler_poll_seconds)
    from orderguard.observability.logs import lean_records, log_config

    # Structured logs (JSON unless stderr is a terminal), uvicorn's included; each request is logged
    # by the API itself, with its id (api/request_metrics.py), so uvicorn's access log is off.
    logs: dict[str, Any] = {"log_level": "info", "log_config": log_config(), "access_log": False}
    if workers == 1:
        from orderguard.api.app_factory import create_app

        app = create_app(ctx, settings)
        settle_for_serving()
        lean_records()  # as each process of `--workers` does (api/asgi.py)
        uvicorn.run(app, host=host, port=port, **logs)
        return
    # Each API process builds its own context from the same environment (api/asgi.py); the
    # database is migrated and its mode checked here, once, before they start.
    factory = "orderguard.api.asgi:app"
    uvicorn.run(factory, factory=True, workers=workers, host=host, port=port, **logs)


@app.command()
def demo(port: Port = 8000, host: Host = "127.0.0.1") -> None:
    """Sandbox mode: migrate, seed a sample marketplace, serve the API and the scheduler."""
    from rich.console import Console
    from rich.table import Table

    from orderguard.app.seed import is_seeded
    from orderguard.demo_banner import seed_showing_progress
    from orderguard.settings import hide_password

    settings = _settings(sandbox=True)
    _check_port(host, port)
    ctx = _context(settings)
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
    console = Console()
    console.print(
        f"[bold]OrderGuard demo[/] (sandbox, virtual clock at {ctx.clock.now():%Y-%m-%d %H:%M} UTC; "
        "it stands still until you advance it: POST /v1/sandbox/clock/advance)"
    )
    database = hide_password(settings.database_url)
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
    _serve(ctx, settings, host, port, scheduler=True)


@app.command()
def serve(
    port: Port = 8000,
    host: Host = "127.0.0.1",
    scheduler: Annotated[bool, typer.Option(help="also fire deadlines, in this process")] = True,
    workers: Annotated[int, typer.Option(min=1, max=64, help="API processes sharing the port")] = 1,
) -> None:
    """Serve the API (ORDERGUARD_SANDBOX=true for sandbox mode)."""
    settings = _settings()
    _check_port(host, port)
    _serve(_context(settings), settings, host, port, scheduler, workers)


@app.command()
def worker(
    until_idle: Annotated[bool, typer.Option(help="exit once nothing is due")] = False,
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="deadlines claimed per transaction")] = 500,
    poll: Annotated[
        float,
        typer.Option(
            min=0.01,
            max=3600,
            help="longest wait between polls when idle (a deadline due sooner wakes it then)",
        ),
    ] = 1.0,
    connections: Annotated[
        int,
        typer.Option(
            min=1,
            max=16,
            help="batches in flight in this process, each on a connection of its own (PostgreSQL)",
        ),
    ] = 1,
) -> None:
    """Fire deadlines as they fall due; run as many as you like against PostgreSQL."""
    from orderguard.observability.logs import configure_logging
    from orderguard.scheduler.worker import work

    configure_logging()  # JSON lines on stderr unless it is a terminal
    settings = _settings()
    if connections > 1 and not settings.database_url.startswith("postgresql"):
        raise typer.BadParameter("more than one needs PostgreSQL", param_hint="--connections")
    ctx = _context(settings, migrate=False)
    stats = work(ctx, poll_seconds=poll, batch=batch, until_idle=until_idle, connections=connections)
    typer.echo(stats.summary())  # on SIGTERM / SIGINT too, then exit 0


@app.command()
def migrate() -> None:
    """Apply the database migrations; a new database takes the mode of ORDERGUARD_SANDBOX for good."""
    from orderguard.bootstrap import build_context, migrate_database
    from orderguard.settings import hide_password

    settings = _settings()
    with _startup():
        applied = migrate_database(settings.database_url)
        ctx = build_context(settings, migrate=False, follow_database=True)
    ctx.engine.dispose()
    mode = "sandbox" if ctx.sandbox else "production"
    where = hide_password(settings.database_url)
    if not applied:
        from orderguard.store.migrate import head_revision

        typer.echo(f"nothing to apply: {where} is at schema {head_revision()} ({mode} database)")
        return
    typer.echo(f"applied {len(applied)} migration(s) to {where}:")
    for migration in applied:
        typer.echo(f"  {migration.revision}  {migration.title}")
    typer.echo(f"it is at schema {applied[-1].revision} ({mode} database)")


def _policy_path(file: Path | None) -> Path:
    from orderguard.app.context import DEFAULT_POLICY_FILE

    return file or _settings().policy_file or DEFAULT_POLICY_FILE


def _load_policy(path: Path) -> Any:
    from orderguard.app.context import PolicyFileInvalid, load_policy_file

    try:
        return load_policy_file(path)
    except PolicyFileInvalid as e:
        _fail(str(e))


@policy_app.command("show")
def policy_show(file: Annotated[Path | None, typer.Option(help="policy file")] = None) -> None:
    """Print the policy in force and its version, as TOML (`orderguard policy show > p.toml`)."""
    path = _policy_path(file)
    version = _load_policy(path)
    # Comments first, then the file as it is: valid TOML whatever the terminal's width.
    sys.stdout.write(f"# version {version.key} (sha256 {version.content_hash})\n# file {path}\n")
    sys.stdout.write(path.read_text(encoding="utf-8"))


@policy_app.command("diagram")
def policy_diagram(
    machine: Annotated[
        str, typer.Argument(help="order | payment | shipment | cancellation_request | refund | proof_request")
    ] = "order",
    file: Annotated[Path | None, typer.Option(help="policy file whose numbers label the timed edges")] = None,
) -> None:
    """Print a lifecycle as a Mermaid state diagram, drawn from its transition table and its timers."""
    from orderguard.domain.deadlines import MACHINES

    if machine not in MACHINES:
        raise typer.BadParameter(
            f"{machine!r} is not a lifecycle; expected one of {', '.join(MACHINES)}", param_hint="MACHINE"
        )
    policy = _load_policy(_policy_path(file)).policy
    sys.stdout.write(MACHINES[machine].mermaid(policy) + "\n")


@ledger_app.command("check")
def ledger_check() -> None:
    """Verify that every transaction balances, no escrow is negative, and refunds reconcile; exit 1 if not."""
    from orderguard.ledger_check import run_ledger_check

    ctx = _context(migrate=False, follow_database=True)
    count, problems = run_ledger_check(ctx.engine)  # progress on stderr; the result kept for /metrics
    for p in problems:
        typer.echo(f"{p.kind} {p.subject}: {p.detail}")
    if problems:
        _fail(f"ledger check failed: {len(problems)} problem(s) in {count} transactions", code=1)
    typer.echo(f"ledger ok: {count} transactions balance, no escrow is negative, refunds reconcile")


def _checked(option: str, kind: str, value: str) -> str:
    """`value` by the rule the API applies to the same field (api/schemas.py: `Text`, `Email`, `Id`);
    a value it refuses is a usage error naming the option."""
    from pydantic import TypeAdapter, ValidationError

    from orderguard.api import schemas

    try:
        checked: str = TypeAdapter(getattr(schemas, kind)).validate_python(value)
    except ValidationError as e:
        said = str(e.errors()[0]["msg"]).removeprefix("Value error, ")
        raise typer.BadParameter(f"{said} (given {value!r})", param_hint=option) from None
    return checked


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

    name = _checked("--name", "Text", name)
    email = None if email is None else _checked("--email", "Email", email)
    with _refusals():
        new = create_account(_context(follow_database=True), role, name, email, expires_in=_days(expires_in))
    typer.echo(f"{new.role} {new.id}\ntoken: {new.token}")


@accounts_app.command("token")
def accounts_token(
    account_id: Annotated[str, typer.Argument(help="the account (acc_…)")], expires_in: ExpiresIn = None
) -> None:
    """Issue another bearer token for an account (shown once); its other tokens keep working."""
    from orderguard.app.accounts import issue_token

    account_id = _checked("ACCOUNT_ID", "Id", account_id)
    with _refusals():
        new = issue_token(_context(follow_database=True), account_id, expires_in=_days(expires_in))
    expiry = f"expires {new.expires_at:%Y-%m-%d %H:%M} UTC" if new.expires_at else "never expires"
    typer.echo(f"{new.id} ({expiry})\ntoken: {new.token}")


@accounts_app.command("tokens")
def accounts_tokens(account_id: Annotated[str, typer.Argument(help="the account (acc_…)")]) -> None:
    """List an account's tokens: id, created, expires, revoked (the tokens themselves are not kept)."""
    from orderguard.app.accounts import list_tokens

    account_id = _checked("ACCOUNT_ID", "Id", account_id)
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
    token = None if token is None else _checked("TOKEN", "Id", token)
    account = None if account is None else _checked("--account", "Id", account)
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
        _fail(f"{e.refusal.code}: {e.refusal.detail}")


def _days(days: int | None) -> timedelta | None:
    return None if days is None else timedelta(days=days)


def _when(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M} UTC"


@app.command()
def bench(
    orders: Annotated[int, typer.Option(min=1, help="orders to place and pay")] = 5000,
    firings: Annotated[int, typer.Option(min=1, help="due deadlines to fire")] = 20000,
    pg_url: Annotated[str, typer.Option(help="PostgreSQL server for the PostgreSQL run")] = (
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
) -> None:
    """Benchmarks (not tests): orders placed and paid per second, deadline firings per second."""
    from orderguard.settings import database_url_problem

    problem = database_url_problem(pg_url)
    if problem is not None or not pg_url.startswith("postgresql"):
        _fail(f"--pg-url: {problem or 'the PostgreSQL run needs a PostgreSQL URL'}")
    checkout = Path(__file__).resolve().parents[2]
    if not (checkout / "benchmarks" / "run.py").is_file():
        _fail("the benchmarks run from a source checkout, not from an install: run `make bench` there")
    sys.path.insert(0, str(checkout))
    from benchmarks.run import main

    main(orders=orders, firings=firings, pg_url=pg_url)


if __name__ == "__main__":
    app()
