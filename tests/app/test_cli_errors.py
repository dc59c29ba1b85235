"""Issue #11: an operator's mistake is one line saying what is wrong and what to do, exit status 2.

Each case of the issue has a test here: a database out of reach, missing, of an unsupported kind or
behind the code; an unwritable SQLite directory; a policy file that is missing or wrong; every
ORDERGUARD_* variable and every option with a value it cannot take; a port in use; `worker` and
`ledger check` before `migrate` (and no empty SQLite file left at a mistyped path). Also what
`migrate` says, the money `ledger check` prints, and `policy show` as machine-readable TOML.
The commands run in-process through Typer's runner (fast); `policy show` and the import check run
as real processes, since what they guard (terminal width, start-up imports) is a process's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from orderguard import cli
from orderguard.settings import EXPECTED, Settings
from orderguard.store import tables as t
from orderguard.store.db import make_engine, unit_of_work
from orderguard.store.migrate import head_revision, schema_revision

runner = CliRunner()
ORDERGUARD = Path(sys.executable).with_name("orderguard")
POLICY = (Path(__file__).resolve().parents[2] / "policy" / "default.toml").read_text()


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test in an empty directory, with no ORDERGUARD_* variable but those it sets."""
    for name in list(os.environ):
        if name.startswith("ORDERGUARD_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_serve", lambda *args, **kwargs: None)  # nothing listens
    yield tmp_path


def run(*args: str, **env: str) -> Result:
    return runner.invoke(cli.app, list(args), env={f"ORDERGUARD_{k.upper()}": v for k, v in env.items()})


def one_line(result: Result, *words: str) -> str:
    """The command failed with status 2 and one line on stderr, holding `words`, and nothing else."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == "", result.stdout
    line = result.stderr
    assert line.count("\n") == 1 and line.startswith("orderguard: "), line
    assert "Traceback" not in line and "Error:" not in line
    for word in words:
        assert word in line, (word, line)
    return line


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


# -- databases ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["migrate"], ["worker", "--until-idle"], ["ledger", "check"]])
def test_unreachable_postgresql_is_one_line(command: list[str]) -> None:
    port = free_port()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/orderguard"
    one_line(
        run(*command, database_url=url),
        f"cannot reach PostgreSQL at 127.0.0.1:{port} (connection refused)",
        "ORDERGUARD_DATABASE_URL",
    )


def test_a_missing_postgresql_database_says_how_to_create_it(pg_url: str) -> None:
    url = make_url(pg_url)
    missing = url.set(database="og_no_such_database").render_as_string(hide_password=False)
    one_line(
        run("migrate", database_url=missing),
        'has no database "og_no_such_database"',
        f"`createdb -h {url.host} -p {url.port or 5432} -U {url.username} og_no_such_database`",
        "then run `orderguard migrate`",
    )


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        (
            "postgres://ann:s3cret@db.example:5432/shop",
            "write postgresql+psycopg://ann:***@db.example:5432/shop",
        ),
        ("postgresql+psycopg2://ann@db.example/shop", "write postgresql+psycopg://ann@db.example/shop"),
        ("mysql://root@127.0.0.1/test", "runs on SQLite or PostgreSQL, not mysql"),
        ("mariadb+pymysql://root@127.0.0.1/test", "not mariadb"),
        ("not a url", "not a database URL"),
        ("sqlite://", "SQLite needs a file"),
        ("sqlite:///:memory:", "SQLite needs a file"),
    ],
)
def test_an_unsupported_or_malformed_url_is_one_line_that_hides_the_password(url: str, fix: str) -> None:
    for command in (["migrate"], ["serve"], ["worker"], ["ledger", "check"], ["accounts", "tokens", "acc_x"]):
        line = one_line(run(*command, database_url=url), "ORDERGUARD_DATABASE_URL=", "is not valid", fix)
        assert "s3cret" not in line


def test_an_sqlite_directory_that_cannot_be_made_is_one_line(clean_env: Path) -> None:
    (clean_env / "afile").write_text("")
    one_line(
        run("migrate", database_url=sqlite_url(clean_env / "afile" / "og.db")),
        f"the directory {clean_env / 'afile'} of the SQLite database is a file",
        "choose a writable place with ORDERGUARD_DATABASE_URL=sqlite:///",
    )


def test_an_unwritable_sqlite_directory_is_one_line(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = clean_env / "locked"
    locked.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: stand in for a directory it may not write
        monkeypatch.setattr("orderguard.bootstrap.os.access", lambda path, mode: Path(path) != locked)
    else:
        locked.chmod(0o500)
    one_line(
        run("migrate", database_url=sqlite_url(locked / "og.db")),
        f"the directory {locked} of the SQLite database is not writable",
        "ORDERGUARD_DATABASE_URL=sqlite:///",
    )
    assert not (locked / "og.db").exists()


@pytest.mark.parametrize("command", [["worker", "--until-idle"], ["ledger", "check"]])
def test_commands_before_migrate_say_run_migrate_and_leave_no_file(
    clean_env: Path, command: list[str]
) -> None:
    mistyped = clean_env / "data" / "orderguard.db"
    one_line(
        run(*command, database_url=sqlite_url(mistyped)),
        f"there is no SQLite database at {mistyped}: run `orderguard migrate`",
    )
    assert not mistyped.exists() and not mistyped.parent.exists()


def test_an_empty_database_or_one_behind_the_code_says_run_migrate(clean_env: Path) -> None:
    empty = clean_env / "empty.db"
    empty.write_bytes(b"")  # an empty SQLite file: a database with no tables
    for command in (["worker", "--until-idle"], ["ledger", "check"]):
        one_line(run(*command, database_url=sqlite_url(empty)), "has no schema yet: run `orderguard migrate`")

    behind = clean_env / "behind.db"
    _migrate_to(sqlite_url(behind), "0005")
    for command in (["worker", "--until-idle"], ["ledger", "check"]):
        one_line(
            run(*command, database_url=sqlite_url(behind)),
            f"is at schema 0005, this orderguard needs {head_revision()}: run `orderguard migrate`",
        )


def _migrate_to(url: str, revision: str) -> None:
    from alembic import command

    from orderguard.store.migrate import alembic_config

    engine = make_engine(url)
    config = alembic_config(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    engine.dispose()


def test_migrate_says_what_it_applied(clean_env: Path) -> None:
    url = sqlite_url(clean_env / "og.db")
    _migrate_to(url, "0005")
    first = run("migrate", database_url=url)
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    head = head_revision()
    assert lines[0] == f"applied {int(head) - 5} migration(s) to {url}:"
    assert lines[1].startswith("  0006  idempotency leases")
    assert lines[-1] == f"it is at schema {head} (production database)"
    again = run("migrate", database_url=url)
    assert again.stdout == f"nothing to apply: {url} is at schema {head} (production database)\n"
    engine = make_engine(url)
    with engine.connect() as conn:
        assert schema_revision(conn) == head
    engine.dispose()


# -- the ledger's money ------------------------------------------------------------------------


def test_ledger_check_prints_amounts_as_money(clean_env: Path) -> None:
    url = sqlite_url(clean_env / "og.db")
    assert run("migrate", database_url=url).exit_code == 0
    now = datetime(2026, 1, 1, tzinfo=UTC)
    engine = make_engine(url)
    with unit_of_work(engine) as conn:
        for txn, amount, currency in (("txn_usd", 18, "USD"), ("txn_jpy", 1800, "JPY")):
            conn.execute(
                insert(t.postings),
                [
                    {
                        "txn_id": txn,
                        "kind": "capture",
                        "order_id": f"ord_{txn}",
                        "account": f"escrow:order:ord_{txn}",
                        "amount": amount,
                        "currency": currency,
                        "created_at": now,
                    }
                ],
            )
    engine.dispose()
    broken = run("ledger", "check", database_url=url)
    assert broken.exit_code == 1
    assert "unbalanced_transaction txn_usd: sums to 0.18 USD" in broken.stdout
    assert "unbalanced_transaction txn_jpy: sums to 1800 JPY" in broken.stdout
    assert broken.stderr == "orderguard: ledger check failed: 2 problem(s) in 2 transactions\n"


# -- the policy file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "does not exist: set ORDERGUARD_POLICY_FILE (or --file) to a policy file"),
        ("version = 'x'\n[checkout\n", "is not valid TOML (Expected ']'"),
        (
            POLICY.replace("unpaid_expiry_days = 20", "unpaid_expiry_days = -1"),
            "[checkout] unpaid_expiry_days:",
        ),
        (POLICY.replace("unpaid_expiry_days = 20", "unpaid_expiry_days = 'soon'"), "(given 'soon')"),
        (POLICY.replace("[checkout]", "[checkout]\nunpaid_expiry_hours = 3"), "no such policy value"),
        (POLICY.replace('version = "2026.11-default"', ""), "version: Field required"),
        (b"\xff\xfe".decode("latin-1"), "is not UTF-8 text"),
    ],
)
def test_a_missing_or_invalid_policy_file_is_one_line(
    clean_env: Path, content: str | None, words: str
) -> None:
    path = clean_env / "policy.toml"
    if content is not None:
        path.write_bytes(content.encode("latin-1") if content.startswith("\xff") else content.encode())
    url = sqlite_url(clean_env / "og.db")
    for result in (
        run("migrate", database_url=url, policy_file=str(path)),
        run("serve", database_url=url, policy_file=str(path)),
        run("policy", "show", "--file", str(path)),
        run("policy", "diagram", "--file", str(path)),
        run("policy", "show", policy_file=str(path)),
    ):
        one_line(result, f"policy file {path}", words)


def test_a_policy_file_that_is_a_directory_is_one_line(clean_env: Path) -> None:
    one_line(run("policy", "show", "--file", str(clean_env)), f"policy file {clean_env} is a directory")


# -- every variable, every option --------------------------------------------------------------

BAD_VARIABLES = {
    "database_url": ("mysql://root@localhost/x", "not mysql"),
    "sandbox": ("maybe", "expected true or false"),
    "policy_file": ("/no/such/policy.toml", "does not exist"),
    "scheduler_poll_seconds": ("0", "expected a number of seconds above 0"),
    "carrier_secrets": ('{"postal": ', "is not valid JSON"),
    "request_read_timeout_seconds": ("ten", "expected a number of seconds above 0"),
    "idempotency_lease_seconds": ("-1", "expected a number of seconds above 0"),
    "files_dir": ("{here}/a-file", "is a file; expected a directory"),
    "sqlite_direct": ("maybe", "expected 1 (the fast path of store/driver.py) or 0"),
    "request_threads": ("21", "expected a whole number from 1 to 20"),
}


def test_every_setting_has_a_bad_value_case_and_an_expected_value() -> None:
    assert set(BAD_VARIABLES) == set(Settings.model_fields) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(BAD_VARIABLES))
def test_every_variable_with_a_value_it_cannot_take_is_one_line_naming_it(clean_env: Path, name: str) -> None:
    value, words = BAD_VARIABLES[name]
    (clean_env / "a-file").write_text("")
    value = value.replace("{here}", str(clean_env))
    for command in (["migrate"], ["serve"], ["worker", "--until-idle"]):
        one_line(run(*command, **{name: value}), f"ORDERGUARD_{name.upper()}", words)


@pytest.mark.parametrize(
    ("secrets", "words"),
    [
        ('{"postal": ', "is not valid JSON (Expecting value"),
        ('["s3cret"]', 'expected a JSON object of carrier to HMAC secret, such as {"postal": "<secret>"}'),
        (
            '{"fedex": "s3cret"}',
            "unknown carrier 'fedex' (the carriers are cainiao, dhl, postal, sandbox, ups)",
        ),
        ('{"postal": ""}', "the secret of postal is empty"),
        ('{"postal": 12345}', "expected a JSON object of carrier to HMAC secret"),
    ],
)
def test_malformed_carrier_secrets_are_one_line_that_never_shows_a_secret(secrets: str, words: str) -> None:
    line = one_line(run("serve", carrier_secrets=secrets), "ORDERGUARD_CARRIER_SECRETS is not valid", words)
    assert "s3cret" not in line and "12345" not in line


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["serve", "--port", "abc"], "Invalid value for '--port'"),
        (["serve", "--port", "0"], "Invalid value for '--port': 0 is not in the range 1<=x<=65535"),
        (["demo", "--port", "70000"], "Invalid value for '--port': 70000 is not in the range"),
        (["serve", "--workers", "0"], "Invalid value for '--workers'"),
        (["serve", "--host", "no-such-host.invalid"], "--host 'no-such-host.invalid' is not a name"),
        (["serve", "--host", "192.0.2.1"], "--host 192.0.2.1 is not an address of this machine"),
        (["worker", "--batch", "0"], "Invalid value for '--batch'"),
        (["worker", "--poll", "0"], "Invalid value for '--poll'"),
        (["worker", "--poll", "soon"], "Invalid value for '--poll'"),
        (["worker", "--connections", "0"], "Invalid value for '--connections'"),
        (["worker", "--connections", "2"], "Invalid value for --connections: more than one needs PostgreSQL"),
        (["accounts", "create", "--role", "admin", "--name", "A", "--expires-in", "0"], "'--expires-in'"),
        (["accounts", "create", "--name", "A"], "Missing option '--role'"),
        (["accounts", "create", "--role", "wizard", "--name", "A"], "unknown_role: role must be buyer"),
        (["accounts", "revoke"], "name one token (og_… or tok_…) or one --account"),
        (["accounts", "create", "--role", "buyer", "--name", "  "], "--name: may not be empty"),
        (["accounts", "create", "--role", "buyer", "--name", "A\x01"], "--name: a single line of text"),
        (["accounts", "create", "--role", "buyer", "--name", "A", "--email", "ann"], "--email: not an email"),
        (["accounts", "token", "acc_\x1b[2J"], "Invalid value for ACCOUNT_ID: a single line of text"),
        (["accounts", "tokens", "acc_\x07"], "Invalid value for ACCOUNT_ID: a single line of text"),
        (["accounts", "revoke", "--account", "acc_\u202e"], "Invalid value for --account: a single line"),
        (
            ["policy", "diagram", "bogus"],
            "Invalid value for MACHINE: 'bogus' is not a lifecycle; expected one of",
        ),
        (["bench", "--orders", "0"], "Invalid value for '--orders'"),
        (["bench", "--pg-url", "mysql://x"], "--pg-url: OrderGuard runs on SQLite or PostgreSQL"),
        (["migrate", "--force"], "No such option: --force"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_every_option_with_a_value_it_cannot_take_is_one_line_naming_it(args: list[str], words: str) -> None:
    line = one_line(run(*args), words)
    assert "Usage:" not in line and "╭" not in line


# -- the port ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_port_in_use_is_said_before_any_banner(clean_env: Path, command: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_line(
            run(command, "--port", str(port)),
            f"port {port} on 127.0.0.1 is already in use: stop what holds it, or pass another --port",
        )
    assert not (clean_env / "var").exists()  # refused before anything was made


# -- machine-readable output and start-up ------------------------------------------------------


@pytest.mark.parametrize("columns", ["20", "200"])
def test_policy_show_writes_valid_toml_at_any_terminal_width(clean_env: Path, columns: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGUARD_")} | {"COLUMNS": columns}
    out = subprocess.run([ORDERGUARD, "policy", "show"], env=env, capture_output=True, text=True, check=True)
    (clean_env / "p.toml").write_text(out.stdout)
    parsed = tomllib.loads((clean_env / "p.toml").read_text())
    assert parsed["checkout"]["unpaid_expiry_days"] == 20
    assert out.stdout.startswith("# version 2026.11-default@")
    assert out.stderr == ""


def test_help_imports_nothing_heavy() -> None:
    """`orderguard --help` answers at once: the module imports Typer only (issue #11: it took 2.5 s
    when every import happened up front)."""
    code = "import sys; import orderguard.cli; print(' '.join(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    packages = {name.split(".")[0] for name in loaded}
    for heavy in ("sqlalchemy", "fastapi", "alembic", "pydantic", "pydantic_settings", "uvicorn", "psycopg"):
        assert heavy not in packages, heavy
    assert {name for name in loaded if name.startswith("orderguard")} == {"orderguard", "orderguard.cli"}


def test_the_asgi_factory_fails_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from orderguard.api import asgi

    monkeypatch.setenv("ORDERGUARD_SANDBOX", "maybe")
    with pytest.raises(SystemExit) as exited:
        asgi.app()
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "orderguard: ORDERGUARD_SANDBOX='maybe' is not valid: "
        "expected true or false (also 1/0, yes/no, on/off)\n"
    )
    monkeypatch.delenv("ORDERGUARD_SANDBOX")
    with pytest.raises(SystemExit):
        asgi.app()  # no database at the default path: the factory never migrates, nor makes one
    assert (
        "there is no SQLite database at var/orderguard.db: run `orderguard migrate`"
        in capsys.readouterr().err
    )
    assert not Path("var").exists()
