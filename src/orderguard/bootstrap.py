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

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from orderguard.app.context import Context, PolicyBook, load_policy_file
from orderguard.domain.shipping import CARRIER_FORMATS
from orderguard.providers.clock import Clock, SystemClock, VirtualClock
from orderguard.providers.files import LocalFileStore
from orderguard.providers.payments import SandboxPayments
from orderguard.settings import Settings
from orderguard.store.db import make_engine, reading, unit_of_work
from orderguard.store.deployment_repo import has_deployment_table, record_mode, recorded_mode
from orderguard.store.migrate import upgrade
from orderguard.store.uow import SqlUnitsOfWork

SANDBOX, PRODUCTION = "sandbox", "production"


class ModeRefused(Exception):
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
    """
    url = settings.database_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        if migrate:
            upgrade(engine)
        sandbox = settings.sandbox
        if clock is None:
            sandbox = claim_mode(engine, settings.sandbox, follow=follow_database) == SANDBOX
            clock = VirtualClock(engine, start) if sandbox else SystemClock()
    except BaseException:
        engine.dispose()
        raise
    units = SqlUnitsOfWork(engine)
    policies = PolicyBook(units, load_policy_file(settings.policy_file), clock)
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
        files=LocalFileStore(settings.files_root()),
        engine=engine,
    )


def claim_mode(engine: Engine, sandbox: bool, *, follow: bool = False) -> str:
    """The database's mode: recorded now as `sandbox`'s if none is; checked against it otherwise."""
    wanted = SANDBOX if sandbox else PRODUCTION
    with reading(engine) as conn:
        if not has_deployment_table(conn):
            raise ModeRefused(f"the database at {_safe(engine)} has no schema yet: run `orderguard migrate`")
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


def _safe(engine: Engine) -> str:
    return make_url(engine.url).render_as_string(hide_password=True)
