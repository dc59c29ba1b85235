"""Building a running OrderGuard from settings: engine, schema, mode, clock, policy, providers.

This is the one place that builds the storage adapter behind app/'s unit-of-work port
(`store.uow.SqlUnitsOfWork`) and hands it to the Context.

A database belongs to one mode for good, recorded in its `deployment` row:

- the first process that opens a database with no mode recorded records its own
  (`orderguard migrate` and `orderguard demo` included);
- sandbox mode over a production database is refused: the sandbox lets anyone mint an
  administrator and move the clock;
- production mode over a sandbox database is refused too: its clock is virtual and its
  accounts were minted by anyone;
- a database migrated before modes were recorded was labelled by migration 0003:
  sandbox if it holds a sandbox clock row, production if it holds any other data.

A caller that brings its own clock (tests, benchmarks) owns time and mode: nothing is
recorded or checked for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from orderguard.app.context import Context, PolicyBook, PolicyFileInvalid, load_policy_file
from orderguard.domain.policy import PolicyVersion
from orderguard.domain.shipping import CARRIER_FORMATS
from orderguard.providers.clock import Clock, SystemClock, VirtualClock
from orderguard.providers.files import LocalFileStore
from orderguard.providers.payments import SandboxPayments
from orderguard.settings import Settings, sqlite_path
from orderguard.store.db import make_engine, reading, unit_of_work
from orderguard.store.deployment_repo import has_deployment_table, record_mode, recorded_mode
from orderguard.store.migrate import Migration, head_revision, known_revision, schema_revision, upgrade
from orderguard.store.uow import SqlUnitsOfWork

SANDBOX, PRODUCTION = "sandbox", "production"
MIGRATE = "run `orderguard migrate`"
SQLITE_FIX = "choose a writable place with ORDERGUARD_DATABASE_URL=sqlite:///path/to/orderguard.db"


class StartupError(Exception):
    """OrderGuard cannot start over this database or configuration; the message is one line with the fix."""


class ModeRefused(StartupError):
    """The database was created in the other mode, or has no schema yet; the message is one line."""


def build_context(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
    start: datetime | None = None,
    follow_database: bool = False,
) -> Context:
    """A Context over `settings.database_url`, after migrating it when `migrate`.

    With `follow_database` the mode is the database's recorded one (the operator's
    commands: accounts, ledger, migrate); `settings.sandbox` decides only for a database
    with no mode yet. Otherwise the mode is `settings.sandbox`, and ModeRefused is raised
    when the database was created in the other one.

    Without `migrate` the database must exist (a SQLite file is never created then) and, unless the
    caller brings its clock, be at the head revision. Whatever stops the start (a database out of
    reach or behind, the policy file) is a StartupError whose message is one line saying what to do.
    """
    files = settings.files_root()
    if files.exists() and not files.is_dir():
        raise StartupError(f"ORDERGUARD_FILES_DIR: {files} is a file; expected a directory for uploads")
    engine = open_database(settings.database_url, create=migrate)
    try:
        with explained(settings.database_url):
            if migrate:
                upgrade(engine)
            sandbox = settings.sandbox
            if clock is None:
                sandbox = claim_mode(engine, settings.sandbox, follow=follow_database) == SANDBOX
                clock = VirtualClock(engine, start) if sandbox else SystemClock()
            units = SqlUnitsOfWork(engine)
            policies = PolicyBook(units, read_policy(settings.policy_file), clock)
    except BaseException:
        engine.dispose()
        raise
    secrets = dict(settings.carrier_secrets)
    if sandbox:
        for carrier in CARRIER_FORMATS:
            secrets.setdefault(carrier, f"sandbox-{carrier}-secret")
    # Real payment providers plug in here; until then every mode uses the sandbox provider, which
    # settles refunds within the windows of the policy in force.
    provider = SandboxPayments(policies.current.policy.refunds.windows())
    return Context(
        units,
        clock,
        policies,
        provider,
        sandbox=sandbox,
        carrier_secrets=secrets,
        files=LocalFileStore(files),
        engine=engine,
    )


def migrate_database(url: str) -> list[Migration]:
    """Bring the database at `url` to the head revision, creating a SQLite file if there is none;
    the migrations applied, oldest first."""
    engine = open_database(url, create=True)
    try:
        with explained(url):
            return upgrade(engine)
    finally:
        engine.dispose()


def read_policy(path: Path | None) -> PolicyVersion:
    """The policy file's version, or a StartupError that says what is wrong with the file."""
    try:
        return load_policy_file(path)
    except PolicyFileInvalid as e:
        raise StartupError(str(e)) from None


def open_database(url: str, *, create: bool) -> Engine:
    """An engine over `url`. A SQLite file's directory is made when `create`; otherwise the file must
    exist already (a mistyped path is refused rather than left behind as an empty database)."""
    path = sqlite_path(url)
    if path is not None:
        if create:
            _writable_directory(path.parent)
        elif not path.is_file():
            raise StartupError(
                f"there is no SQLite database at {path}: {MIGRATE} to create it, "
                "or correct the path in ORDERGUARD_DATABASE_URL"
            )
    try:
        return make_engine(url)
    except ValueError as e:
        raise StartupError(f"ORDERGUARD_DATABASE_URL: {e}") from None


def _writable_directory(directory: Path) -> None:
    where = f"the directory {directory} of the SQLite database"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StartupError(f"{where} is a file, not a directory: {SQLITE_FIX}") from None
    except OSError as e:
        raise StartupError(f"cannot create {where} ({e.strerror}): {SQLITE_FIX}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StartupError(f"{where} is not writable: {SQLITE_FIX}")


@contextmanager
def explained(url: str) -> Iterator[None]:
    """Within this block a database error ends as a StartupError saying what to do about it."""
    try:
        yield
    except DBAPIError as e:
        raise StartupError(database_error(url, e.orig if e.orig is not None else e)) from e


def database_error(url: str, error: BaseException) -> str:
    """One line on why the database at `url` cannot be used, and what to do."""
    text = " ".join(str(error).split())  # psycopg's messages run over several lines
    parsed = make_url(url)
    path = sqlite_path(url)
    if path is not None:
        return f"cannot use the SQLite database {path} ({_first_line(error)}): {SQLITE_FIX}"
    if parsed.get_backend_name() != "postgresql":
        return f"cannot use the database at {_safe_url(url)}: {_first_line(error)}"
    host, port = parsed.host or "localhost", parsed.port or 5432
    user, database = parsed.username or "postgres", parsed.database or parsed.username or "postgres"
    where = f"{host}:{port}"
    if f'database "{database}" does not exist' in text:
        return (
            f'PostgreSQL at {where} has no database "{database}": create it with '
            f"`createdb -h {host} -p {port} -U {user} {database}`, then {MIGRATE}"
        )
    if "password authentication failed" in text or f'role "{user}" does not exist' in text:
        return (
            f"PostgreSQL at {where} refused user {user}: "
            "correct the user and password in ORDERGUARD_DATABASE_URL"
        )
    unreachable = (
        "connection refused",
        "could not translate host name",
        "name or service not known",
        "no route to host",
        "timeout expired",
        "network is unreachable",
    )
    reason = next((r for r in unreachable if r in text.lower()), None)
    if reason is not None:
        return (
            f"cannot reach PostgreSQL at {where} ({reason}): start it, "
            "or correct the host and port in ORDERGUARD_DATABASE_URL"
        )
    return f"cannot use the database at {_safe_url(url)}: {_first_line(error)}"


def _first_line(e: BaseException) -> str:
    return next(iter(str(e).strip().splitlines()), type(e).__name__)


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def claim_mode(engine: Engine, sandbox: bool, *, follow: bool = False) -> str:
    """The database's mode: recorded now as `sandbox`'s if none is; checked against it otherwise."""
    wanted = SANDBOX if sandbox else PRODUCTION
    with reading(engine) as conn:
        if not has_deployment_table(conn):
            raise ModeRefused(f"the database at {_safe(engine)} has no schema yet: {MIGRATE}")
        _check_schema(engine, schema_revision(conn))
        recorded = recorded_mode(conn)
    if recorded is None:
        try:
            with unit_of_work(engine) as conn:
                recorded = recorded_mode(conn)
                if recorded is None:
                    record_mode(conn, wanted, SystemClock().now())
                    return wanted
        except IntegrityError:  # another process recorded its mode first
            with reading(engine) as conn:
                recorded = recorded_mode(conn)
    assert recorded is not None
    if follow or recorded == wanted:
        return recorded
    if wanted == SANDBOX:
        raise ModeRefused(
            f"refusing sandbox mode: the database at {_safe(engine)} was created in production mode; "
            "give the sandbox a database of its own (ORDERGUARD_DATABASE_URL)"
        )
    raise ModeRefused(
        f"refusing production mode: the database at {_safe(engine)} was created by the sandbox "
        "(virtual clock, self-service accounts); run it with ORDERGUARD_SANDBOX=true or use another database"
    )


def _check_schema(engine: Engine, revision: str | None) -> None:
    """The database's schema is the one this code runs on: neither behind nor ahead of it."""
    head = head_revision()
    if revision == head:
        return
    if revision is not None and not known_revision(revision):
        raise StartupError(
            f"the database at {_safe(engine)} is at schema {revision}, newer than this orderguard knows "
            f"(it stops at {head}): run the orderguard that migrated it"
        )
    raise StartupError(
        f"the database at {_safe(engine)} is at schema {revision or 'none'}, "
        f"this orderguard needs {head}: {MIGRATE}"
    )


def _safe(engine: Engine) -> str:
    return make_url(engine.url).render_as_string(hide_password=True)
