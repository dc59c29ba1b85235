"""A database belongs to one mode (issue #7): the demo cannot take over a production database.

The commands run through Typer's runner with ORDERGUARD_DATABASE_URL set; serving is
replaced by a stub that records the context it was given, so nothing listens.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from orderguard import cli
from orderguard.app.accounts import authenticate
from orderguard.app.context import Context
from orderguard.store import tables as t
from orderguard.store.db import make_engine, reading

runner = CliRunner()


@pytest.fixture
def served(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Context]]:
    """Run commands from an empty directory over `db_url`; the contexts `_serve` was given."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORDERGUARD_DATABASE_URL", db_url)
    monkeypatch.delenv("ORDERGUARD_SANDBOX", raising=False)
    calls: list[Context] = []
    monkeypatch.setattr(cli, "_serve", lambda ctx, *args, **kwargs: calls.append(ctx))
    monkeypatch.setattr(cli, "_check_port", lambda host, port: None)  # whatever holds :8000 on this machine
    old_umask = os.umask(0o022)  # what most shells have; the tokens file must not inherit it
    yield calls
    os.umask(old_umask)
    for ctx in calls:
        ctx.engine.dispose()


def _run(*args: str, sandbox: bool = False) -> Result:
    return runner.invoke(cli.app, list(args), env={"ORDERGUARD_SANDBOX": "true"} if sandbox else {})


def _refused(result: Result, words: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"orderguard: {words}"), result.stderr
    assert "Traceback" not in result.output


def _count(db_url: str, table: str) -> int:
    engine = make_engine(db_url)
    with reading(engine) as conn:
        n = int(conn.execute(select(func.count()).select_from(t.metadata.tables[table])).scalar_one())
    engine.dispose()
    return n


def test_the_demo_refuses_a_production_database(served: list[Context], db_url: str) -> None:
    assert _run("migrate").exit_code == 0  # a new database, migrated in production mode
    made = _run("accounts", "create", "--role", "admin", "--name", "Ada")
    assert made.exit_code == 0, made.output

    _refused(_run("demo"), "refusing sandbox mode: the database at")
    _refused(_run("serve", sandbox=True), "refusing sandbox mode")
    _refused(_run("worker", "--until-idle", sandbox=True), "refusing sandbox mode")
    assert served == []
    assert _count(db_url, "sandbox_clock") == 0  # no virtual clock was started over it
    assert _count(db_url, "accounts") == 1  # the demo's accounts were not minted
    assert not Path("var/demo-tokens.txt").exists()

    assert _run("worker", "--until-idle").exit_code == 0  # production itself still runs
    assert _run("serve", "--no-scheduler").exit_code == 0
    assert [ctx.sandbox for ctx in served] == [False]


def test_the_demo_keeps_working_on_a_new_database_and_on_its_own(served: list[Context], db_url: str) -> None:
    first = _run("demo")
    assert first.exit_code == 0, first.output
    tokens = Path("var/demo-tokens.txt")
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    saved = [line.split("\t") for line in tokens.read_text().splitlines()]
    assert {role for role, _, _ in saved} == {"admin", "buyer", "seller"}
    assert all(authenticate(served[0], token) for _, _, token in saved)

    again = _run("demo")
    assert again.exit_code == 0, again.output
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert _run("serve", "--no-scheduler", sandbox=True).exit_code == 0
    assert [ctx.sandbox for ctx in served] == [True, True, True]

    # Production mode over the demo's database is refused too: its clock is virtual.
    _refused(_run("serve"), "refusing production mode: the database at")
    _refused(_run("worker", "--until-idle"), "refusing production mode")
    # The operator's commands follow the database's own mode.
    assert _run("ledger", "check").exit_code == 0
    migrated = _run("migrate").output
    assert migrated.startswith("nothing to apply: ") and migrated.endswith("(sandbox database)\n")
    assert _run("accounts", "create", "--role", "admin", "--name", "Root").exit_code == 0


def test_an_older_world_readable_tokens_file_is_made_private(served: list[Context]) -> None:
    assert _run("demo").exit_code == 0
    tokens = Path("var/demo-tokens.txt")
    tokens.chmod(0o644)
    assert _run("demo").exit_code == 0
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600


def test_a_database_with_no_schema_is_named_in_one_line(served: list[Context], tmp_path: Path) -> None:
    os.environ["ORDERGUARD_DATABASE_URL"] = f"sqlite:///{tmp_path / 'blank.db'}"  # restored by monkeypatch
    _refused(_run("worker", "--until-idle"), "there is no SQLite database at ")
    assert not (tmp_path / "blank.db").exists()  # and none was made
