"""A real OrderGuard server process for tests that need sockets, crashes and timeouts.

`uvicorn --factory tests.api.live_server:create` serves the API over the database named by
ORDERGUARD_DATABASE_URL, configured from the environment like `orderguard serve`. Test-only: a
request with an `x-test-delay: <seconds>` header waits that long once the request guard has let
it through (after its Idempotency-Key is reserved, before the route runs), standing in for a slow
provider call, so a test can kill the process while the request is in flight.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from orderguard.api.app_factory import create_app
from orderguard.bootstrap import build_context
from orderguard.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0  # seconds; imports alone take several on a loaded machine


class _Delay:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"x-test-delay":
                    await asyncio.sleep(float(value))
        await self.app(scope, receive, send)


def create() -> FastAPI:
    settings = Settings()
    app = create_app(build_context(settings, migrate=False), settings)
    app.user_middleware.append(Middleware(_Delay))  # innermost: inside the request guard
    return app


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown code runs."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_servers(count: int, db_url: str, log_dir: Path, **settings: str) -> Iterator[list[Server]]:
    """`count` server processes on free ports, started together; `settings` are ORDERGUARD_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGUARD_")}
    env |= {"ORDERGUARD_DATABASE_URL": db_url, "ORDERGUARD_SANDBOX": "true"}
    env |= {f"ORDERGUARD_{name.upper()}": value for name, value in settings.items()}
    servers: list[Server] = []
    try:
        for _ in range(count):
            port = free_port()
            log = log_dir / f"server-{port}.log"
            command = [sys.executable, "-m", "uvicorn", "--factory", "tests.api.live_server:create"]
            command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
            )
            servers.append(Server(process, port, log))
        for server in servers:
            _wait_until_up(server)
        yield servers
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.process.kill()
                server.process.wait(10)


@contextmanager
def live_server(db_url: str, log_dir: Path, **settings: str) -> Iterator[Server]:
    with live_servers(1, db_url, log_dir, **settings) as (server,):
        yield server


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited: {server.log.read_text()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not start in {START_TIMEOUT} s: {server.log.read_text()}")
