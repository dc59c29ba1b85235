"""Request bodies against a real server process: bounded while they stream, and timed out (issue #7, item 4).

Raw sockets, so that the test controls exactly what is sent and when: a chunked body with no
Content-Length, and a body that never arrives whole. The server is uvicorn in a subprocess over
a SQLite sandbox database (these limits are the HTTP layer's; no request reaches the database).
"""

from __future__ import annotations

import json
import select
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.live_server import Server, live_server

pytestmark = pytest.mark.slow

READ_TIMEOUT = 0.5  # seconds, the server's; the default is 10
CHUNK = b"a" * 64 * 1024
SEND_AT_MOST = 32 * 1024 * 1024  # the old guard read all of it before answering 413
ANSWERED_WITHIN = 1024 * 1024  # the answer must come before this much has been sent
RSS_GROWTH_KIB = 16 * 1024


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("streaming")
    shutil.copy(sqlite_template, folder / "orderguard.db")
    url = f"sqlite:///{folder / 'orderguard.db'}"
    with live_server(url, folder, request_read_timeout_seconds=str(READ_TIMEOUT)) as running:
        yield running


def _connect(server: Server, head: str) -> socket.socket:
    """Send `head`, with its line ends as HTTP's."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(head.replace("\n", "\r\n").encode())
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], Any]:
    """Status, headers and JSON body of the one response on the socket, read until the server closes."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:  # the server closed with our unread bytes pending; what came is enough
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, json.loads(body) if body else None


def test_a_chunked_body_is_cut_off_at_the_limit_while_it_streams(server: Server) -> None:
    rss_before = server.rss_kib()
    sock = _connect(
        server,
        "POST /v1/stores HTTP/1.1\nHost: og\nContent-Type: application/json\nTransfer-Encoding: chunked\n\n",
    )
    sent = 0
    with sock:
        try:
            while sent < SEND_AT_MOST:
                sock.sendall(b"%x\r\n%b\r\n" % (len(CHUNK), CHUNK))
                sent += len(CHUNK)
                if select.select([sock], [], [], 0.002)[0]:  # the answer has come
                    break
        except (BrokenPipeError, ConnectionResetError):  # the server answered and closed meanwhile
            pass
        assert sent <= ANSWERED_WITHIN, f"the server answered only after {sent} bytes"
        status, headers, body = _read_response(sock)
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert body["code"] == "payload_too_large"
    assert server.rss_kib() - rss_before < RSS_GROWTH_KIB


@pytest.mark.parametrize(
    "head",
    [
        "Content-Length: 1000\n\n0123456789",  # declares more than it sends
        "Transfer-Encoding: chunked\n\na\n0123456789\n",  # a chunk, then nothing
        "Content-Length: 10\n\n",  # headers, then nothing
    ],
)
def test_a_body_that_does_not_arrive_is_answered_408_within_the_timeout(server: Server, head: str) -> None:
    started = time.monotonic()
    sock = _connect(server, "POST /v1/stores HTTP/1.1\nHost: og\nContent-Type: application/json\n" + head)
    with sock:
        status, headers, body = _read_response(sock)  # the server closes after answering
    elapsed = time.monotonic() - started
    assert status == 408
    assert body["code"] == "request_timeout"
    assert headers["connection"] == "close"
    assert READ_TIMEOUT <= elapsed < READ_TIMEOUT + 5


def test_a_declared_length_over_the_limit_is_refused_before_the_body(server: Server) -> None:
    sock = _connect(
        server,
        "POST /v1/stores HTTP/1.1\nHost: og\nContent-Type: application/json\nContent-Length: 200000000\n\n",
    )
    with sock:
        status, _, body = _read_response(sock)
    assert status == 413
    assert body["code"] == "payload_too_large"


def test_a_complete_body_still_reaches_the_route(server: Server) -> None:
    sock = _connect(
        server,
        "POST /v1/stores HTTP/1.1\nHost: og\nContent-Type: application/json\nTransfer-Encoding: chunked\n"
        'Connection: close\n\n4\n{"na\n9\nme": "x"}\n0\n\n',
    )
    with sock:
        status, _, body = _read_response(sock)
    assert (status, body["code"]) == (401, "unauthenticated")  # through the guard, to the route
