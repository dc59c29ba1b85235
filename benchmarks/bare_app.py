"""The yardstick of the HTTP benchmarks: a bare FastAPI app, served the way OrderGuard is.

`benchmarks/http.py` serves it with the same uvicorn, in the same virtualenv, with the same number of
worker processes and the same log level (the access log on, as `orderguard serve` runs):

    OG_BENCH_BARE_DOCS=docs.json python -m uvicorn --factory benchmarks.bare_app:app --workers N

`docs.json` maps a load's name to a JSON document: the response OrderGuard gave to that load in the
same run, so that each bare figure is for a document of the same size and shape. Each document gets
one synchronous route (FastAPI runs it in its thread pool, as OrderGuard's routes) that returns it
from memory as a plain object, serialised by FastAPI as it serialises any return value: no
database, no authentication, no middleware, no response model. GET `/bare/<load>` for the read
loads; POST `/bare/write_mix` for the write mix, which takes a JSON object (the cart addition's
body) and answers 201, as adding to the cart does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

DOCS_ENV = "OG_BENCH_BARE_DOCS"
WRITE_LOAD = "write_mix"


def app() -> FastAPI:
    """The bare app over the documents named by OG_BENCH_BARE_DOCS."""
    docs: dict[str, Any] = json.loads(Path(os.environ[DOCS_ENV]).read_text())
    bare = FastAPI(title="bare", docs_url=None, redoc_url=None, openapi_url=None)
    for name, doc in docs.items():
        _route(bare, name, doc)
    return bare


def _route(bare: FastAPI, name: str, doc: Any) -> None:
    if name == WRITE_LOAD:

        @bare.post(f"/bare/{name}", status_code=201)
        def write(body: dict[str, Any]) -> Any:
            return doc

    else:

        @bare.get(f"/bare/{name}")
        def read() -> Any:
            return doc
