"""Assertions shared by the API safety tests: problem+json bodies and "this wrote nothing"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, cast

from fastapi import FastAPI
from httpx import Response
from sqlalchemy import select

from orderguard.api.app_factory import create_app
from orderguard.app.context import Context
from orderguard.store.db import reading
from orderguard.store.tables import metadata
from tests.support import Api


def db_state(api: Api) -> dict[str, list[str]]:
    """Every row of every table as sorted reprs: equal states mean nothing was inserted, changed, deleted."""
    with reading(api.ctx.engine) as conn:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for table in metadata.sorted_tables
        }


@contextmanager
def writes_nothing(api: Api) -> Iterator[None]:
    before = db_state(api)
    yield
    after = db_state(api)
    changed = {
        name: f"{len(before[name])} -> {len(after[name])} rows"
        for name in before
        if before[name] != after[name]
    }
    assert not changed, f"the request wrote to {changed}"


def assert_problem(r: Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem+json response with the given status and stable `code`."""
    assert r.status_code == status, f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text}"
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"].endswith("/" + code)
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    # Words for people: never a Python tuple, list or dict ("one of ('a', 'b')") in a detail.
    assert not re.search(r"""[(\[{]['"]|', '""", body["detail"]), body["detail"]
    return body


def document_app() -> FastAPI:
    """An application for its OpenAPI document: building and serving it touches no database."""
    return create_app(cast(Context, SimpleNamespace(units=None, engine=None)))


def openapi_document() -> dict[str, Any]:
    return document_app().openapi()
