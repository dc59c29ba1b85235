"""Configuration from the environment (ORDERGUARD_*).

`load_settings()` is how the commands and the ASGI factory read it: a variable with a value it
cannot take raises `SettingsInvalid`, whose message is one line naming the variable, what was
wrong and the value expected (never a secret's value).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

PREFIX = "ORDERGUARD_"
SQLITE_EXAMPLE = "sqlite:///var/orderguard.db"
POSTGRES_EXAMPLE = "postgresql+psycopg://user@host:5432/dbname"
# At most as many as the database pool keeps connections open (store/db.POOL_SIZE); its overflow
# leaves room for the functions run on the event loop (orderguard/on_loop.AT_ONCE: the reads, and on
# PostgreSQL the writes).
MAX_REQUEST_THREADS = 20
# Two on either database (issue #12, benchmarks/README.md). On SQLite a request is CPU work from end
# to end, and SQLite releases the interpreter's lock around every row it steps: with 16 threads the
# lock changed hands so often that a page of 50 orders cost 22 ms of CPU served, against 7 ms alone.
# On PostgreSQL, once an order page took 3 round trips instead of 11, four threads cost a read 20-40 %
# more CPU than two, for the same write throughput. Two, not one, so that a short request can pass
# one that runs long, and one can work while the other waits on the database.
DEFAULT_REQUEST_THREADS = 2

# What each variable expects, as its one-line error says it.
EXPECTED = {
    "database_url": f"a SQLite file ({SQLITE_EXAMPLE}) or PostgreSQL through psycopg ({POSTGRES_EXAMPLE})",
    "sandbox": "true or false (also 1/0, yes/no, on/off)",
    "policy_file": "the path of a policy TOML file (`orderguard policy show` prints the default one)",
    "scheduler_poll_seconds": "a number of seconds above 0, such as 1.0",
    "carrier_secrets": 'a JSON object of carrier to HMAC secret, such as {"postal": "<secret>"}',
    "request_read_timeout_seconds": "a number of seconds above 0, such as 10",
    "idempotency_lease_seconds": "a number of seconds above 0, such as 30",
    "files_dir": "a directory path",
    "sqlite_direct": "1 (the fast path of store/driver.py) or 0 (every statement through SQLAlchemy)",
    "request_threads": f"a whole number from 1 to {MAX_REQUEST_THREADS}",
}
SECRET = {"carrier_secrets"}  # never echoed back


class SettingsInvalid(ValueError):
    """An ORDERGUARD_* variable holds a value it cannot take; the message is one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX)

    database_url: str = SQLITE_EXAMPLE
    sandbox: bool = False
    policy_file: Path | None = None
    scheduler_poll_seconds: float = Field(default=1.0, gt=0)
    # JSON object, carrier -> HMAC secret for its scan webhooks. In sandbox mode every carrier
    # without one gets "sandbox-<carrier>-secret".
    carrier_secrets: dict[str, str] = {}
    # Seconds a request body may take to arrive, from the end of its headers (then 408).
    request_read_timeout_seconds: float = Field(default=10.0, gt=0)
    # Seconds an Idempotency-Key stays reserved for a request that stops renewing it (a dead process).
    idempotency_lease_seconds: float = Field(default=30.0, gt=0)
    # Where uploaded files (proof of dispatch, evidence) are kept, by content. Default: `files`
    # beside a SQLite database file, else var/files.
    files_dir: Path | None = None
    # Read by store/driver.py when it is imported; declared here so that a value it cannot take is
    # refused like any other.
    sqlite_direct: bool = True
    # Threads that run the API's blocking work (on SQLite the writes and their Idempotency-Keys; the
    # token lookups of async routes and the sandbox's operations; reads, and on PostgreSQL writes, run
    # on the event loop, api/handoff.py) at once, per process: few, since more only contend for the
    # interpreter's lock (`DEFAULT_REQUEST_THREADS`).
    request_threads: int = Field(default=DEFAULT_REQUEST_THREADS, ge=1, le=MAX_REQUEST_THREADS)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, url: str) -> str:
        problem = database_url_problem(url)
        if problem is not None:
            raise ValueError(problem)
        return url

    @field_validator("carrier_secrets")
    @classmethod
    def _carrier_secrets(cls, secrets: dict[str, str]) -> dict[str, str]:
        from orderguard.domain.shipping import CARRIER_FORMATS

        for carrier, secret in secrets.items():
            if carrier not in CARRIER_FORMATS:
                known = ", ".join(sorted(CARRIER_FORMATS))
                raise ValueError(f"unknown carrier {carrier!r} (the carriers are {known})")
            if not secret:
                raise ValueError(f"the secret of {carrier} is empty")
        return secrets

    def files_root(self) -> Path:
        if self.files_dir is not None:
            return self.files_dir
        path = sqlite_path(self.database_url)
        if path is not None:
            return path.parent / "files"
        return Path("var/files")


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment, with `overrides`; SettingsInvalid (one line) if any is invalid."""
    try:
        return Settings(**overrides)
    except SettingsError as e:  # a complex value (carrier_secrets) that is not JSON
        field = _field_named_in(str(e))
        cause = f" ({_first_line(e.__cause__)})" if e.__cause__ is not None else ""
        expected = EXPECTED[field]
        raise SettingsInvalid(f"{_variable(field)} is not valid JSON{cause}: expected {expected}") from e
    except ValidationError as e:
        raise SettingsInvalid("; ".join(_explain(error) for error in e.errors())) from e


def _explain(error: Any) -> str:
    """`ORDERGUARD_X='value' is not valid: expected …`: our validators' own words, or what the
    variable expects (pydantic's wording, "Input should be…", says less)."""
    loc = error.get("loc", ())
    field = str(loc[0]) if loc else "?"
    if error.get("type") == "value_error":
        said = str(error.get("msg", "")).removeprefix("Value error, ")
    else:
        said = f"expected {EXPECTED.get(field, 'another value')}"
    if field in SECRET:
        return f"{_variable(field)} is not valid: {said}"
    return f"{_variable(field)}={_shown(field, error.get('input'))} is not valid: {said}"


def _shown(field: str, value: Any) -> str:
    if field == "database_url" and isinstance(value, str):
        return repr(hide_password(value))
    return repr(value) if isinstance(value, str) else repr(str(value))


def _variable(field: str) -> str:
    return f"{PREFIX}{field.upper()}"


def _field_named_in(text: str) -> str:
    for field in EXPECTED:
        if f'"{field}"' in text:
            return field
    return "carrier_secrets"


def _first_line(e: BaseException) -> str:
    return next(iter(str(e).strip().splitlines()), type(e).__name__)


def database_url_problem(url: str) -> str | None:
    """What is wrong with a database URL, in words that say what to write instead; None if nothing."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return f"not a database URL; write {SQLITE_EXAMPLE} or {POSTGRES_EXAMPLE}"
    backend, _, driver = parsed.drivername.partition("+")  # without loading the dialect
    if backend in ("postgres", "postgresql"):
        if backend == "postgresql" and driver in ("", "psycopg"):  # SQLAlchemy 2.1's default is psycopg
            return None
        fixed = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
        return f"OrderGuard reaches PostgreSQL through psycopg 3: write {fixed}"
    if backend == "sqlite":
        if driver not in ("", "pysqlite"):
            return f"use the plain sqlite driver: {SQLITE_EXAMPLE}"
        if parsed.database in (None, "", ":memory:"):
            return f"SQLite needs a file that several connections share, such as {SQLITE_EXAMPLE}"
        return None
    return (
        f"OrderGuard runs on SQLite or PostgreSQL, not {backend}: "
        f"write {SQLITE_EXAMPLE} or {POSTGRES_EXAMPLE}"
    )


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for any other database)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url if "@" not in url else "<the URL given>"
