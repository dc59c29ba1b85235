"""Issue #11: OrderGuard served and installed like a production Python service.

- A wheel built with `uv build` and installed into a clean virtualenv, from a directory outside the
  checkout, runs every command: the default policy and the migrations travel inside the package.
- `orderguard serve --workers N` runs N API processes on one port; `orderguard.api.asgi:app` is a
  factory the usual servers take (`uvicorn --factory`).

These spawn processes (and the wheel test builds and installs a package), so they are slow; the
wheel test needs uv (`make` installs it; `uv run` names it in $UV) and is skipped in the second,
driver-less SQLite run of CI, to which it adds nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.live_server import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0  # seconds: a loaded two-core machine imports slowly


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERGUARD_", "VIRTUAL_ENV"))}
    return env | {f"ORDERGUARD_{name.upper()}": value for name, value in settings.items()}


def _children(pid: int) -> list[str]:
    """The command lines of the processes whose parent is `pid`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError, IndexError):
            continue
    return found


@contextmanager
def serving(command: Sequence[object], port: int, env: dict[str, str], cwd: Path) -> Iterator[int]:
    """Run a server command until its /healthz answers; its pid. Stopped with SIGTERM after."""
    log = cwd / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(part) for part in command], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"{command} exited: {log.read_text()}"
            assert time.monotonic() < deadline, f"{command} did not start: {log.read_text()}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _health(port: int) -> dict[str, object]:
    body: dict[str, object] = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
    return body


def test_serve_workers_runs_n_api_processes_on_one_port(tmp_path: Path) -> None:
    orderguard = Path(sys.executable).with_name("orderguard")
    env = _env(database_url=f"sqlite:///{tmp_path / 'og.db'}")
    port = free_port()
    with serving([orderguard, "serve", "--workers", "2", "--port", str(port)], port, env, tmp_path) as pid:
        workers = [c for c in _children(pid) if "multiprocessing.spawn" in c]
        assert len(workers) == 2, _children(pid)
        assert {_health(port)["sandbox"] for _ in range(6)} == {False}
        taken = subprocess.run(
            [orderguard, "serve", "--port", str(port)], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert taken.returncode == 2 and taken.stdout == ""
        assert taken.stderr.startswith(f"orderguard: port {port} on 127.0.0.1 is already in use: ")
        assert taken.stderr.count("\n") == 1


def test_uvicorn_serves_the_asgi_factory(tmp_path: Path) -> None:
    env = _env(database_url=f"sqlite:///{tmp_path / 'og.db'}", sandbox="true")
    orderguard = Path(sys.executable).with_name("orderguard")
    subprocess.run([orderguard, "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True)
    port = free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "orderguard.api.asgi:app", "--port", str(port)]
    with serving([*uvicorn, "--workers", "2"], port, env, tmp_path):
        assert _health(port)["sandbox"] is True


# -- the wheel ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ of a new virtualenv holding the wheel `uv build` makes, and its locked dependencies."""
    if os.environ.get("ORDERGUARD_SQLITE_DIRECT") == "0":
        pytest.skip("the wheel does not depend on the SQLite driver's path; built once, in the first run")
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (make install brings it)")
    work = tmp_path_factory.mktemp("wheel")
    env = _env()

    def uv_run(*args: str | Path) -> None:
        done = subprocess.run([uv, *args], cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    uv_run("build", "--out-dir", work / "dist", ROOT)
    (wheel,) = (work / "dist").glob("orderguard-*.whl")
    uv_run("export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "-o", work / "locked.txt")
    uv_run("venv", "--python", sys.executable, work / "venv")
    uv_run("pip", "install", "--python", work / "venv" / "bin" / "python", "-r", work / "locked.txt", wheel)
    return work / "venv" / "bin"


def test_a_wheel_installed_in_a_clean_virtualenv_runs_every_command(installed: Path, tmp_path: Path) -> None:
    def orderguard(*args: str, expect: int = 0, db: str | None = None) -> str:
        done = subprocess.run(
            [installed / "orderguard", *args],
            cwd=tmp_path,
            env=_env() if db is None else _env(database_url=db),
            capture_output=True,
            text=True,
        )
        assert done.returncode == expect, (args, done.stdout, done.stderr)
        return done.stdout if expect == 0 else done.stderr

    where = subprocess.run(
        [installed / "python", "-c", "import orderguard; print(orderguard.__file__)"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(installed.parent)), where  # the installed package, not the checkout

    assert "Usage: orderguard" in orderguard("--help")
    shown = orderguard("policy", "show")
    assert tomllib.loads(shown)["checkout"]["unpaid_expiry_days"] == 20
    assert "site-packages/orderguard/policy/default.toml" in shown.splitlines()[1]
    assert orderguard("policy", "diagram", "refund").startswith("stateDiagram-v2")

    db = f"sqlite:///{tmp_path / 'og.db'}"
    assert orderguard("migrate", db=db).startswith("applied ")
    assert orderguard("migrate", db=db).startswith("nothing to apply: ")
    account = orderguard("accounts", "create", "--role", "admin", "--name", "Ada", db=db).split()[1]
    assert "token: og_" in orderguard("accounts", "token", account, db=db)
    assert orderguard("accounts", "tokens", account, db=db).count("tok_") == 2
    assert "revoked 2 token(s)" in orderguard("accounts", "revoke", "--account", account, db=db)
    assert orderguard("ledger", "check", db=db).startswith("ledger ok")
    assert orderguard("worker", "--until-idle", db=db).startswith("worker stopped: nothing is due after ")
    assert "run `make bench` there" in orderguard("bench", expect=2)

    port = free_port()
    serve = [installed / "orderguard", "serve", "--workers", "2", "--port", str(port)]
    with serving(serve, port, _env(database_url=db), tmp_path):
        assert _health(port)["sandbox"] is False
    port = free_port()
    demo_db = f"sqlite:///{tmp_path / 'demo.db'}"
    with serving(
        [installed / "orderguard", "demo", "--port", str(port)], port, _env(database_url=demo_db), tmp_path
    ):
        assert _health(port)["sandbox"] is True
    assert (tmp_path / "var" / "demo-tokens.txt").is_file()
