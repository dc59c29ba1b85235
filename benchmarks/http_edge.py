"""HTTP-edge benchmarks: a served OrderGuard under `wrk`, beside a bare FastAPI app of the same run.

Run with `make bench-http` (part of `make bench`; it installs Debian's `wrk` when missing) or
`uv run python -m benchmarks.http_edge [--duration 10] [--warmup 3] [--connections 16] ...`.
The module is not called `http.py`: a file of that name beside a script would hide the standard
library's `http` package from it.

For each database (SQLite, a file in a temporary directory; PostgreSQL, a database of its own
created on --pg-url and dropped afterwards) the harness:

1. builds a database through the `app/` use cases (in this process, not timed): the demo
   marketplace of `orderguard demo` (`app/seed.py`: a phone case offered by 24 stores), four stores
   with one offer each and unlimited stock, a buyer with 200 orders (one in two paid), and one buyer
   per connection for the write mix; then `ANALYZE` on PostgreSQL;
2. serves it for real: `orderguard serve --no-scheduler` in a subprocess, in production mode as an
   operator runs it (system clock; `--sandbox` serves a sandbox database instead, whose virtual
   clock is read from the database at each use), logging each request as `serve` does. The seeded
   orders fall due days later, so the scheduler would only poll;
3. runs each load with `wrk` (a C load generator: a Python client would take the server's CPU on
   this 2-core machine): first a warm-up, whose figures are dropped, then a measured run of a fixed
   duration, 16 connections. The loads are Lua scripts in benchmarks/wrk/, fed with the seeded
   tokens and ids through a generated Lua file (OG_BENCH_DATA):
   - `order_detail`: GET /v1/orders/{id}, a paid order, by its buyer;
   - `offers`: GET /v1/products/{id}/offers, the 24 offers of the phone case, ranked;
   - `orders_list`: GET /v1/orders, the first page (50, the default) of the buyer with 200 orders;
   - `write_mix`: each connection a buyer of its own, adding one offer of each of the 4 stores to
     the cart, checking out (4 orders) and paying each order by card, every POST with an
     Idempotency-Key; run with one wrk thread per connection (wrk's Lua keeps state per thread);
4. on PostgreSQL, serves it again with `--workers 2` (--workers-variant) and runs the read loads.

In the same run the bare app (`benchmarks/bare_app.py`: one synchronous route per load returning,
from memory, the very document OrderGuard answered to that load) is served by the same uvicorn, with
the same number of workers, and measured with the same scripts; every OrderGuard figure is printed
with the bare one and their ratio. The bare app is measured twice with one worker, between the two
databases and again at the end, and each ratio is taken against the faster of its two figures: a
stretch where the machine itself runs slow (on a shared VM the bare app's CPU a request was seen
to go from 0.42 to 0.74 ms for minutes) cannot flatter OrderGuard. `CPU ms/req` is the CPU time of
the server's processes per request (user + system, from /proc), steadier than req/s when other work
shares the machine. Each run also reads the CPU time of every PostgreSQL process and of wrk, and for
each read served by one worker and by more, a second table prints what the machine allows: the
CPUs' time over one worker's CPU a request, server, PostgreSQL and wrk together (`benchmarks/cpu.py`).
No number of workers gets past that while the three share the machine.
With `--workers N` uvicorn leaves Nagle's algorithm on (uvicorn issue #3149: about 40 ms a
keep-alive response, for the bare app too); the run prints a note when it shows, and
benchmarks/README.md has the figures with it worked around.

Anything a load should never see is listed under the table and makes the run exit 1: a non-2xx
answer to a read, a write answered with anything but 201 (no 409 is expected: each buyer has its
own cart and the stock never runs out), a socket error or a timeout.

`--profile DIR` runs each load once more on each database and on the bare app, under
`py-spy record --gil` attached to the server, after the measured runs (so the figures are not
perturbed). It writes collapsed stacks (`DIR/<load>-<server>.txt`, which speedscope.app or
flamegraph.pl open), prints the frames most often on the stack, and the GIL time a request by the
package of the innermost frame, OrderGuard beside the bare app: what OrderGuard adds, and where.
`--gil` samples only the thread that holds the GIL, so idle threads of the pool are left out, and
so is work done without it (SQLite's C code, waits for PostgreSQL, the kernel). py-spy is not a
dependency: `uv run --with py-spy python -m benchmarks.http_edge --profile var/profiles`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text

from benchmarks.cpu import children_cpu_seconds, cpus_allow, postgres_cpu_seconds, processes_cpu
from benchmarks.run import ADDRESS, DEFAULT_PG_URL, STORES_PER_CART, cpu_model, make_offers, postgres_url
from orderguard.app import accounts, cart, payments, seed
from orderguard.app.context import Context, Principal
from orderguard.bootstrap import build_context
from orderguard.settings import Settings
from orderguard.store import tables as t
from orderguard.store.db import reading

ROOT = Path(__file__).resolve().parents[1]
WRK_DIR = Path(__file__).resolve().parent / "wrk"
READS = ("order_detail", "offers", "orders_list")
WRITE = "write_mix"
LOADS = (*READS, WRITE)
BACKENDS = ("sqlite", "postgresql")
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
LIST_BUYER_ORDERS = 200
START_TIMEOUT = 60.0  # seconds for a server to answer; imports alone take several on a loaded machine
CHECKOUT_BODY = json.dumps(
    {
        "shipping_address": {
            "name": ADDRESS.name,
            "line1": ADDRESS.line1,
            "city": ADDRESS.city,
            "postal_code": ADDRESS.postal_code,
            "country": ADDRESS.country,
        }
    },
    separators=(",", ":"),
)


# --- the seeded database --------------------------------------------------------------------------


@dataclass
class Seeded:
    """What the loads need from the database, as the Lua data file carries it."""

    order_detail: dict[str, str]  # path, token
    offers: dict[str, str]
    orders_list: dict[str, str]
    write_buyers: list[str]  # one token per connection
    write_offers: list[str]  # one offer per store; unlimited stock
    spare_buyer: str  # a token for the harness's own cart addition (the bare write document)
    seconds: float  # how long seeding took

    def data(self, bare: bool = False) -> dict[str, Any]:
        """The Lua data file's table; for the bare app every path is its route for that load."""
        reads = {name: dict(getattr(self, name)) for name in READS}
        write: dict[str, Any] = {
            "buyers": self.write_buyers,
            "offers": self.write_offers,
            "checkout_body": CHECKOUT_BODY,
        }
        if bare:
            for name, load in reads.items():
                load["path"] = f"/bare/{name}"
            write["bare_path"] = f"/bare/{WRITE}"
        return {**reads, WRITE: write}


def _token(ctx: Context, role: str, name: str) -> tuple[Principal, str]:
    new = accounts.create_account(ctx, role, name)
    return Principal(new.id, accounts.ROLES[role]), new.token


def seed_database(url: str, files_dir: Path, connections: int, sandbox: bool = False) -> Seeded:
    """A database with everything the loads read and write, built through the use cases; in
    production mode unless `sandbox` (the mode is recorded in the database: serve it in the same)."""
    started = time.perf_counter()
    ctx = build_context(Settings(database_url=url, sandbox=sandbox, files_dir=files_dir))
    try:
        demo = seed.seed(ctx)  # as `orderguard demo`: the phone case is offered by 24 stores
        demo_buyer = next(a.token for a in demo if a.role == "buyer")
        with reading(ctx.engine) as conn:
            phone_case = conn.execute(
                select(t.products.c.id).where(t.products.c.title == "Shockproof phone case")
            ).scalar_one()
        offer_ids = make_offers(ctx)  # one offer in each of 4 stores, stock that never runs out
        reader, reader_token = _token(ctx, "buyer", "Bench reader")
        paid: list[str] = []
        for _ in range(LIST_BUYER_ORDERS // STORES_PER_CART):
            for offer_id in offer_ids:
                cart.add_item(ctx, reader, offer_id, 1, None)
            for i, order in enumerate(cart.check_out(ctx, reader, ADDRESS)):
                if i % 2 == 0:
                    payments.pay(ctx, reader, order.id, "card")
                    paid.append(order.id)
        write_buyers = [_token(ctx, "buyer", f"Bench writer {i}")[1] for i in range(connections)]
        spare = _token(ctx, "buyer", "Bench spare")[1]
        if ctx.engine.dialect.name == "postgresql":  # planner statistics, as benchmarks/run.py explains
            with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
    finally:
        ctx.engine.dispose()
    return Seeded(
        order_detail={"path": f"/v1/orders/{paid[-1]}", "token": reader_token},
        offers={"path": f"/v1/products/{phone_case}/offers", "token": demo_buyer},
        orders_list={"path": "/v1/orders", "token": reader_token},
        write_buyers=write_buyers,
        write_offers=offer_ids,
        spare_buyer=spare,
        seconds=time.perf_counter() - started,
    )


def lua_literal(value: object) -> str:
    """`value` (str, int, list, dict of those) as a Lua expression; strings must be printable ASCII."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"no Lua literal for {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if not all(" " <= c <= "~" for c in value):
            raise ValueError(f"not printable ASCII: {value!r}")
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua_literal(k)}] = {lua_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Lua literal for {type(value).__name__}")


def write_data_file(path: Path, data: Mapping[str, object]) -> Path:
    path.write_text("-- written by benchmarks/http_edge.py\nreturn " + lua_literal(dict(data)) + "\n")
    return path


# --- servers --------------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    workers: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU time of every process of the server (its process group), so far."""
        return processes_cpu(lambda _, fields: int(fields[2]) == self.process.pid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _venv_script(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed in this environment: run through `uv run`")
    return found


@contextmanager
def serve(
    command: list[str], env: Mapping[str, str], log: Path, probe: str, workers: int
) -> Iterator[Server]:
    """The server started in a process group of its own, up once `probe` answers 2xx; stopped after."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers are stopped with it
        )
    server = Server(process, port, log, workers)
    try:
        _wait_until_up(server, probe)
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _wait_until_up(server: Server, probe: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited: {server.log.read_text()[-3000:]}")
        try:
            if httpx.get(server.url + probe, timeout=2).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer in {START_TIMEOUT} s: {server.log.read_text()[-3000:]}")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("ORDERGUARD_", "OG_BENCH_"))}


@contextmanager
def serve_orderguard(
    url: str, files_dir: Path, log: Path, workers: int, sandbox: bool = False
) -> Iterator[Server]:
    env = _clean_env() | {
        "ORDERGUARD_DATABASE_URL": url,
        "ORDERGUARD_SANDBOX": "true" if sandbox else "false",
        "ORDERGUARD_FILES_DIR": str(files_dir),
    }
    command = [_venv_script("orderguard"), "serve", "--no-scheduler", "--workers", str(workers)]
    with serve(command, env, log, "/healthz", workers) as server:
        yield server


@contextmanager
def serve_bare(docs_file: Path, log: Path, workers: int) -> Iterator[Server]:
    from benchmarks.bare_app import DOCS_ENV

    env = _clean_env() | {DOCS_ENV: str(docs_file)}
    # As `orderguard serve` runs uvicorn: log level info, so the access log is on.
    command = [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.bare_app:app", "--log-level", "info"]
    command += ["--workers", str(workers)]
    with serve(command, env, log, f"/bare/{READS[0]}", workers) as server:
        yield server


def capture_documents(server: Server, seeded: Seeded) -> dict[str, Any]:
    """OrderGuard's answer to each load, for the bare app to serve: the reads as they are, and for the
    write mix the cart after a buyer's second addition (the mix's typical response)."""
    docs: dict[str, Any] = {}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for name in READS:
            load = getattr(seeded, name)
            answer = client.get(load["path"], headers={"Authorization": f"Bearer {load['token']}"})
            answer.raise_for_status()
            docs[name] = answer.json()
        for i, offer_id in enumerate(seeded.write_offers[:2]):
            answer = client.post(
                "/v1/cart/items",
                json={"offer_id": offer_id, "quantity": 1},
                headers={"Authorization": f"Bearer {seeded.spare_buyer}", "Idempotency-Key": f"spare-{i}"},
            )
            answer.raise_for_status()
        docs[WRITE] = answer.json()
    return docs


# --- wrk ------------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured wrk run."""

    system: str  # "OrderGuard" or "bare FastAPI"
    backend: str  # "SQLite", "PostgreSQL", or "" for the bare app
    load: str
    workers: int
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    bytes: int
    socket_errors: int
    timeouts: int
    non_2xx: int
    counts: dict[str, int] = field(default_factory=dict)
    server_cpu_s: float = 0.0
    database_cpu_s: float = 0.0  # every PostgreSQL process of the machine (0 for SQLite's runs)
    wrk_cpu_s: float = 0.0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.server_cpu_s / self.requests if self.requests else 0.0

    @property
    def machine_ms_per_request(self) -> float:
        """CPU of the server, PostgreSQL and wrk together a request: what the machine's cores pay."""
        spent = self.server_cpu_s + self.database_cpu_s + self.wrk_cpu_s
        return 1000 * spent / self.requests if self.requests else 0.0

    def problems(self) -> list[str]:
        """What this load should never see."""
        found = []
        if self.requests == 0:
            found.append("no request completed")
        if self.socket_errors:
            found.append(f"{self.socket_errors} socket errors")
        if self.timeouts:
            found.append(f"{self.timeouts} timeouts")
        if self.load == WRITE:
            wrong = {k: v for k, v in self.counts.items() if not k.endswith(" 201")}
            if wrong:
                listed = ", ".join(f"{k}: {v}" for k, v in sorted(wrong.items()))
                found.append(f"answers other than 201: {listed}")
        elif self.non_2xx:
            found.append(f"{self.non_2xx} non-2xx answers")
        return found


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "wrk is missing: `make bench-http` installs it (Debian/Ubuntu: `apt-get install -y wrk`)"
        )
    return found


def run_wrk(
    server: Server, load: str, data_file: Path, run: RunSpec, tag: str, seconds: int | None = None
) -> dict[str, Any]:
    """One wrk run of `load` against `server` (`seconds`: default the measured duration); the report
    that benchmarks/wrk/common.lua prints. `tag` makes the write mix's Idempotency-Keys unique."""
    seconds = run.seconds if seconds is None else seconds
    connections = run.connections
    # The write mix: one buyer a connection, so one thread a connection (benchmarks/wrk/write_mix.lua).
    threads = connections if load == WRITE else min(run.threads, connections)
    command = [wrk_binary(), "-t", str(threads), "-c", str(connections)]
    command += ["-d", f"{seconds}s", "--timeout", "10s", "-s", str(WRK_DIR / f"{load}.lua"), server.url]
    env = os.environ | {"OG_BENCH_DATA": str(data_file), "OG_BENCH_RUN": tag}
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("OG_BENCH "):
            report: dict[str, Any] = json.loads(line.removeprefix("OG_BENCH "))
            if done.returncode != 0:
                raise RuntimeError(f"wrk exited {done.returncode}: {done.stderr}")
            return report
    raise RuntimeError(f"wrk gave no report (exit {done.returncode}): {done.stdout}\n{done.stderr}")


@dataclass
class RunSpec:
    seconds: int
    warmup: int
    connections: int
    threads: int


def measure(server: Server, system: str, backend: str, load: str, data_file: Path, run: RunSpec) -> Figure:
    """A warm-up (dropped), then the measured run, with the server's CPU time over it."""
    tag = f"{backend or 'bare'}-{server.workers}-{load}-{time.monotonic_ns()}"
    if run.warmup:
        run_wrk(server, load, data_file, run, tag + "-warmup", seconds=run.warmup)
    cpu, database, wrk = server.cpu_seconds(), postgres_cpu_seconds(), children_cpu_seconds()
    report = run_wrk(server, load, data_file, run, tag)
    cpu = server.cpu_seconds() - cpu
    database = postgres_cpu_seconds() - database if backend == "PostgreSQL" else 0.0
    wrk = children_cpu_seconds() - wrk  # wrk is the only child waited for meanwhile
    figure = Figure(
        system=system,
        backend=backend,
        load=load,
        workers=server.workers,
        requests=int(report["requests"]),
        seconds=report["duration_us"] / 1e6,
        p50_ms=report["p50_ms"],
        p90_ms=report["p90_ms"],
        p99_ms=report["p99_ms"],
        max_ms=report["max_ms"],
        bytes=int(report["bytes"]),
        socket_errors=sum(int(report[k]) for k in ("connect_errors", "read_errors", "write_errors")),
        timeouts=int(report["timeouts"]),
        non_2xx=int(report["status_errors"]),
        counts={k: int(v) for k, v in report["counts"].items()},
        server_cpu_s=cpu,
        database_cpu_s=database,
        wrk_cpu_s=wrk,
    )
    where = f"{backend}, " if backend else ""
    print(
        f"  {system} ({where}{server.workers} worker{'s' if server.workers > 1 else ''}) {load}:"
        f" {figure.per_second:,.0f} req/s, p50 {figure.p50_ms:.1f} ms, p99 {figure.p99_ms:.1f} ms",
        flush=True,
    )
    return figure


# --- profiling ------------------------------------------------------------------------------------


PROFILE_RATE = 200  # samples a second


@dataclass
class Profile:
    label: str  # "OrderGuard SQLite", "bare FastAPI"
    load: str  # "order_detail", ...
    path: Path  # collapsed stacks
    requests: int  # served while it was recorded

    def ms_per_request(self, share: float) -> float:
        """Milliseconds of GIL time a request for `share` % of the samples."""
        samples = sum(int(line.rpartition(" ")[2]) for line in self.path.read_text().splitlines())
        return 1000 * samples * share / 100 / PROFILE_RATE / self.requests if self.requests else 0.0


def profile_load(server: Server, load: str, data_file: Path, run: RunSpec, out: Path, label: str) -> Profile:
    """`load` once more (after its measured run) with py-spy recording the server: collapsed stacks of
    the thread that holds the GIL (`--gil`), i.e. where the interpreter spends its time. Work done
    without the GIL (SQLite's C code, waits for PostgreSQL, the kernel) is not in it."""
    beside = Path(sys.executable).parent / "py-spy"
    py_spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit(
            "py-spy is missing: `uv run --with py-spy python -m benchmarks.http_edge --profile DIR`"
        )
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{load}-{label.replace(' ', '_')}.txt"
    recorder = subprocess.Popen(
        [
            *(py_spy, "record", "--pid", str(server.process.pid), "--rate", str(PROFILE_RATE)),
            *("--nolineno", "--gil", "--format", "raw", "--output", str(path)),
            *("--duration", str(run.seconds + 2)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)  # attached
    report = run_wrk(server, load, data_file, run, f"profile-{label}-{time.monotonic_ns()}")
    _, errors = recorder.communicate(timeout=run.seconds + 60)
    if recorder.returncode != 0 or not path.exists():
        raise RuntimeError(f"py-spy failed ({recorder.returncode}): {errors}")
    # py-spy records a little longer than wrk runs: count the requests of its whole window
    requests = int(report["requests"] * (run.seconds + 2) / run.seconds)
    return Profile(label, load, path, requests)


def top_frames(collapsed: Path, limit: int = 25) -> list[tuple[str, float]]:
    """The frames most often on the stack (inclusive share of the samples), from collapsed stacks.

    Frames that are on exactly the same samples (a chain of callers that only ever call one another,
    as the CLI's and the event loop's) are one line, named by the deepest of them with "(+N)".
    """
    stacks = []
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    total = sum(n for _, n in stacks)
    on: dict[str, set[int]] = {}
    depth: dict[str, int] = {}
    for i, (frames, _) in enumerate(stacks):
        for d, frame in enumerate(frames):
            on.setdefault(frame, set()).add(i)
            depth[frame] = max(depth.get(frame, 0), d)
    chains: dict[frozenset[int], list[str]] = {}
    for frame, where in on.items():
        chains.setdefault(frozenset(where), []).append(frame)
    ranked = []
    for samples, frames in chains.items():
        deepest = max(frames, key=lambda f: depth[f])
        name = deepest if len(frames) == 1 else f"{deepest} (+{len(frames) - 1})"
        ranked.append((name, 100 * sum(stacks[i][1] for i in samples) / total))
    ranked.sort(key=lambda r: -r[1])
    return ranked[:limit]


def self_frames(collapsed: Path, limit: int = 12) -> list[tuple[str, float]]:
    """The innermost frames (where the samples were taken), as shares of the samples."""
    leaves: Counter[str] = Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            leaves[stack.split(";")[-1]] += int(count)
    total = sum(leaves.values())
    return [(frame, 100 * n / total) for frame, n in leaves.most_common(limit)] if total else []


def by_package(collapsed: Path) -> list[tuple[str, float]]:
    """Self time by the package of the innermost frame (fastapi, h11, orderguard, sqlalchemy ...)."""
    packages: dict[str, float] = {}
    for frame, share in self_frames(collapsed, limit=1_000_000):
        path = frame.rpartition(" (")[2].rstrip(")")
        package = path.split("/", 1)[0] if "/" in path else path.removesuffix(".py")
        packages[package] = packages.get(package, 0.0) + share
    return sorted(packages.items(), key=lambda item: -item[1])


def print_profiles(profiles: Sequence[Profile]) -> None:
    """For each profile its hottest frames, then GIL time a request by package, side by side."""
    for p in profiles:
        print(f"profile of {p.load}, {p.label}: {p.path} ({p.requests:,} requests)")
        print("  most often on the stack (inclusive):")
        for frame, share in top_frames(p.path):
            print(f"    {share:5.1f}%  {frame}")
        print("  innermost frames (self):")
        for frame, share in self_frames(p.path):
            print(f"    {share:5.1f}%  {frame}")
    shares = [dict(by_package(p.path)) for p in profiles]
    packages = sorted(
        {k for s in shares for k, v in s.items() if v >= 1.0}, key=lambda k: -shares[0].get(k, 0)
    )
    print()
    print("GIL time a request, ms, by the package of the innermost frame (self time)")
    print(f"{'package':<14}" + "".join(f" {p.load[:10] + ', ' + p.label[:10]:>22}" for p in profiles))
    for package in [*packages, "all"]:
        cells = [
            p.ms_per_request(100.0 if package == "all" else s.get(package, 0.0))
            for p, s in zip(profiles, shares, strict=True)
        ]
        print(f"{package:<14}" + "".join(f" {c:>22.3f}" for c in cells))
    print()


# --- output ---------------------------------------------------------------------------------------


def print_table(figures: Sequence[Figure]) -> list[str]:
    """The OrderGuard figures, each beside the bare app's for the same load and workers; returns the
    problems found."""
    bare: dict[tuple[str, int], Figure] = {}
    for f in figures:  # the faster of the bare app's rounds: the ratio is never flattered
        known = bare.get((f.load, f.workers))
        if f.system != "OrderGuard" and (known is None or f.per_second > known.per_second):
            bare[(f.load, f.workers)] = f
    head = (
        f"{'load':<13} {'database':<11} {'wk':>2} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'CPU ms/req':>10} | {'bare req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10}"
        f" | {'ratio':>6}  notes"
    )
    print()
    print(head)
    print("-" * (len(head) + 30))
    problems: list[str] = []
    for f in figures:
        for problem in f.problems():
            problems.append(f"{f.system} {f.backend} {f.load} ({f.workers} workers): {problem}")
        if f.system != "OrderGuard":
            continue
        b = bare.get((f.load, f.workers))
        notes = f"{f.bytes / f.requests:,.0f} B/resp" if f.requests else ""
        if b and b.requests:
            notes += f" (bare {b.bytes / b.requests:,.0f})"
        if f.load == WRITE:
            paid = f.counts.get("pay 201", 0)
            notes += f"; {paid / f.seconds:,.0f} orders paid/s" if f.seconds else ""
        bare_part = (
            f"{b.per_second:>10,.0f} {b.p50_ms:>7.1f} {b.p99_ms:>7.1f} {b.cpu_ms_per_request:>10.2f}"
            if b
            else f"{'-':>10} {'-':>7} {'-':>7} {'-':>10}"
        )
        ratio = f"{100 * f.per_second / b.per_second:>5.1f}%" if b and b.per_second else f"{'-':>6}"
        print(
            f"{f.load:<13} {f.backend:<11} {f.workers:>2} {f.per_second:>7,.0f} {f.p50_ms:>7.1f}"
            f" {f.p99_ms:>7.1f} {f.cpu_ms_per_request:>10.2f} | {bare_part} | {ratio}  {notes}"
        )
    print(
        "wk: server worker processes; CPU ms/req: CPU time of the server's processes per request;"
        " ratio: OrderGuard req/s / bare FastAPI req/s, same load, same workers, same run (the faster"
        " of the bare app's rounds)"
    )
    for f in figures:
        if f.load == WRITE and f.counts:
            counts = ", ".join(f"{k}: {v}" for k, v in sorted(f.counts.items()))
            print(f"{f.system} {f.backend} write mix answers: {counts}")
    for (load, workers), b in bare.items():
        alone = bare.get((load, 1))
        if workers > 1 and alone and b.per_second < alone.per_second:
            print(
                f"note: the bare app serves {load} slower with {workers} workers than with 1"
                f" ({b.per_second:,.0f} against {alone.per_second:,.0f} req/s): a p50 near 40 ms is"
                " uvicorn's --workers path leaving Nagle's algorithm on (uvicorn issue #3149; see"
                " benchmarks/README.md)"
            )
    if problems:
        print("PROBLEMS:")
        for problem in problems:
            print(f"  {problem}")
    print()
    return problems


def print_machine_bound(figures: Sequence[Figure]) -> None:
    """For each load served by one worker and by more: the most its CPU a request lets the machine
    serve, beside what more workers served. Server, PostgreSQL and wrk share the CPUs, so with a
    request costing `server + PostgreSQL + wrk` ms of CPU no number of workers gets past
    `CPUs / that`; a target of K x one worker needs that bound above K x."""
    one = {(f.backend, f.load): f for f in figures if f.system == "OrderGuard" and f.workers == 1}
    pairs = [
        (one[(f.backend, f.load)], f)
        for f in figures
        if f.system == "OrderGuard" and f.workers > 1 and (f.backend, f.load) in one
    ]
    if not pairs:
        return
    cpus = os.cpu_count() or 1
    head = (
        f"{'load':<13} {'database':<11} {'1 worker':>8} {'server':>7} {'PG':>6} {'wrk':>6} {'total':>6}"
        f" | {f'{cpus} CPUs allow':>17} | {'more workers':>17}"
    )
    print(f"What the machine allows: one worker's CPU a request (ms), and the req/s {cpus} CPUs give at it")
    print(head)
    print("-" * len(head))
    for alone, more in pairs:
        n = alone.requests or 1
        total = alone.machine_ms_per_request
        allowed = cpus_allow(total / 1000)
        rate = alone.per_second or 1.0
        print(
            f"{alone.load:<13} {alone.backend:<11} {alone.per_second:>8,.0f}"
            f" {1000 * alone.server_cpu_s / n:>7.2f} {1000 * alone.database_cpu_s / n:>6.2f}"
            f" {1000 * alone.wrk_cpu_s / n:>6.2f} {total:>6.2f}"
            f" | {allowed:>8,.0f} ({allowed / rate:.2f}x)"
            f" | {more.per_second:>8,.0f} ({more.per_second / rate:.2f}x, {more.workers} wk)"
        )
    print(
        "server, PG, wrk: CPU time a request of the server's processes, of every PostgreSQL process,"
        " of wrk; the bound holds for any number of workers while all three share the machine"
    )
    print()


def machine_line() -> str:
    load = os.getloadavg()
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs, {cpu_model()}; Python"
        f" {platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average"
        f" {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )


def wrk_version() -> str:
    done = subprocess.run([wrk_binary(), "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip() if (done.stdout or done.stderr) else "wrk"


# --- the run --------------------------------------------------------------------------------------


@contextmanager
def database(backend: str, pg_url: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
    else:
        with postgres_url(pg_url, "http") as url:
            yield url


def main(
    *,
    backends: Sequence[str] = BACKENDS,
    loads: Sequence[str] = LOADS,
    pg_url: str = DEFAULT_PG_URL,
    seconds: int = 10,
    warmup: int = 3,
    connections: int = 16,
    threads: int = 2,
    workers_variant: int = 2,
    profile: Path | None = None,
    sandbox: bool = False,
) -> tuple[list[Figure], list[str]]:
    """Every load on every database and on the bare app; returns the figures and the problems."""
    wrk_binary()
    run = RunSpec(seconds, warmup, connections, threads)
    print(
        f"OrderGuard HTTP edge: {', '.join(loads)}; {connections} connections, {seconds} s each after a"
        f" {warmup} s warm-up; {wrk_version()}"
    )
    print(f"machine: {machine_line()}", flush=True)
    figures: list[Figure] = []
    profiles: list[Profile] = []
    docs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="og_http_bench_") as tmp_name:
        tmp = Path(tmp_name)
        bare_data: Path | None = None

        def bare_round(workers: int, names: Sequence[str]) -> None:
            assert bare_data is not None
            with serve_bare(tmp / "docs.json", tmp / f"bare-{workers}.log", workers) as server:
                for name in names:
                    figures.append(measure(server, "bare FastAPI", "", name, bare_data, run))
                if profile is not None and workers == 1:
                    for name in names:
                        profiles.append(profile_load(server, name, bare_data, run, profile, "bare FastAPI"))

        for backend in backends:
            name = BACKEND_NAMES[backend]
            files = tmp / f"files-{backend}"
            with database(backend, pg_url, tmp) as url:
                seeded = seed_database(url, files, connections, sandbox)
                print(f"  {name}: seeded in {seeded.seconds:.1f} s", flush=True)
                data = write_data_file(tmp / f"data-{backend}.lua", seeded.data())
                one = tmp / f"orderguard-{backend}-1.log"
                with serve_orderguard(url, files, one, 1, sandbox) as server:
                    if not docs:
                        docs = capture_documents(server, seeded)
                        (tmp / "docs.json").write_text(json.dumps(docs))
                        bare_data = write_data_file(tmp / "data-bare.lua", seeded.data(bare=True))
                    for load in loads:
                        figures.append(measure(server, "OrderGuard", name, load, data, run))
                    if profile is not None:
                        for load in loads:
                            label = f"OrderGuard {name}"
                            profiles.append(profile_load(server, load, data, run, profile, label))
                if backend == backends[0]:
                    bare_round(1, loads)  # between the two databases: the same stretch of the run
                reads = [load for load in loads if load in READS]
                if backend == "postgresql" and workers_variant > 1 and reads:
                    log = tmp / f"orderguard-{backend}-{workers_variant}.log"
                    with serve_orderguard(url, files, log, workers_variant, sandbox) as server:
                        for load in reads:
                            figures.append(measure(server, "OrderGuard", name, load, data, run))
                    bare_round(workers_variant, reads)
        bare_round(1, loads)  # again at the end: the faster of the two rounds is the yardstick
    print(f"machine at the end: {machine_line()}")
    problems = print_table(figures)
    print_machine_bound(figures)
    if profiles:
        print_profiles(profiles)
    return figures, problems


def _cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10, help="seconds of each measured run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of the warm-up before each (0: none)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument(
        "--threads", type=int, default=2, help="wrk threads of the reads (the write mix: one a connection)"
    )
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server for the PostgreSQL run")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--loads", default=",".join(LOADS), help=f"comma-separated, of {','.join(LOADS)}")
    parser.add_argument(
        "--workers-variant",
        type=int,
        default=2,
        help="also serve PostgreSQL with this many workers for the reads (0 or 1: skip)",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="serve in sandbox mode (its virtual clock is read from the database at each use)",
    )
    parser.add_argument("--profile", type=Path, help="py-spy the order-detail load into this directory")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    loads = [name for name in args.loads.split(",") if name]
    unknown = sorted(set(backends) - set(BACKENDS)) + sorted(set(loads) - set(LOADS))
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    if args.duration < 1 or args.warmup < 0 or args.connections < 1 or args.threads < 1:
        parser.error("--duration and --connections and --threads must be at least 1, --warmup at least 0")
    _, problems = main(
        backends=backends,
        loads=[name for name in LOADS if name in loads],
        pg_url=args.pg_url,
        seconds=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        threads=args.threads,
        workers_variant=args.workers_variant,
        profile=args.profile,
        sandbox=args.sandbox,
    )
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    _cli()
