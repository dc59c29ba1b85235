"""`orderguard.api.asgi:app`: the API as an application factory, for the usual ASGI servers.

    uvicorn --factory orderguard.api.asgi:app --workers 4 --port 8000
    gunicorn -k uvicorn_worker.UvicornWorker -w 4 -b 127.0.0.1:8000 'orderguard.api.asgi:app()'

Each process builds its context from the environment (ORDERGUARD_*, as `orderguard serve`), over a
database that `orderguard migrate` has brought to the head revision: the factory never migrates,
since processes starting together would race to. It serves the API only; deadlines are fired by
`orderguard worker` processes beside it. A setting or database it cannot start with ends the
process with one line on stderr and status 2 (`orderguard serve --workers N` runs this factory too).
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

from orderguard.api.app_factory import create_app
from orderguard.bootstrap import StartupError, build_context
from orderguard.heap import settle_for_serving
from orderguard.observability.logs import configure_logging, lean_records
from orderguard.settings import SettingsInvalid, load_settings


def app() -> FastAPI:
    """A new API application over the database and settings of the environment."""
    configure_logging()  # structured logs with request ids; does nothing when already configured
    try:
        settings = load_settings()
        ctx = build_context(settings, migrate=False)
    except (SettingsInvalid, StartupError) as e:
        print(f"orderguard: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    app = create_app(ctx, settings)
    settle_for_serving()  # the process serves from now on (orderguard/heap.py)
    lean_records()
    return app
