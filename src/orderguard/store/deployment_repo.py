"""The database's mode (sandbox | production), recorded once when it is first opened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, inspect, select

from orderguard.store import tables as t


def has_deployment_table(conn: Connection) -> bool:
    return inspect(conn).has_table(t.deployment.name)


def recorded_mode(conn: Connection) -> str | None:
    mode: str | None = conn.execute(select(t.deployment.c.mode).where(t.deployment.c.id == 1)).scalar()
    return mode


def record_mode(conn: Connection, mode: str, at: datetime) -> None:
    conn.execute(insert(t.deployment).values(id=1, mode=mode, created_at=at))
