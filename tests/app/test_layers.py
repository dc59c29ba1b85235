"""The use cases reach the database only through their port (app/ports.py): no module of app/
imports SQLAlchemy or the store, and api/ imports nothing from the store (issue #8 item 4)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import orderguard

SRC = Path(orderguard.__file__).parent


def imported(source: str, package: str) -> set[str]:
    """Every name a module of `package` imports anywhere in it (functions and TYPE_CHECKING
    blocks included), relative imports resolved."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def forbidden(names: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes))


@pytest.mark.parametrize(
    ("layer", "banned"),
    [("app", ("sqlalchemy", "orderguard.store")), ("api", ("sqlalchemy", "orderguard.store"))],
)
def test_a_layer_does_not_import_what_lies_behind_its_port(layer: str, banned: tuple[str, ...]) -> None:
    modules = sorted((SRC / layer).rglob("*.py"))
    assert modules
    found = {}
    for m in modules:
        package = ".".join(("orderguard", *m.relative_to(SRC).parent.parts))
        if bad := forbidden(imported(m.read_text(), package), banned):
            found[str(m.relative_to(SRC))] = bad
    assert found == {}


def test_the_import_check_sees_plain_relative_and_late_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import ports\n"
        "from ..store import db\n"
        "if TYPE_CHECKING:\n"
        "    from sqlalchemy import Engine\n"
        "def f() -> None:\n"
        "    import sqlalchemy.exc\n"
    )
    names = imported(source, "orderguard.app")
    assert "orderguard.app.ports" in names
    assert forbidden(names, ("sqlalchemy", "orderguard.store")) == [
        "orderguard.store",
        "orderguard.store.db",
        "sqlalchemy",
        "sqlalchemy.Engine",
        "sqlalchemy.exc",
    ]


def test_the_api_never_holds_more_connections_than_the_pool_keeps_open() -> None:
    from orderguard.settings import MAX_REQUEST_THREADS
    from orderguard.store.db import POOL_SIZE

    assert MAX_REQUEST_THREADS <= POOL_SIZE
