"""Stored policy versions, by key (orders are judged by the version they were placed under)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from orderguard.domain.policy import PolicyVersion
from orderguard.store import tables as t
from orderguard.store.once import insert_once


def policy_stored(conn: Connection, key: str) -> bool:
    return conn.execute(select(t.policies.c.key).where(t.policies.c.key == key)).first() is not None


def insert_policy(conn: Connection, version: PolicyVersion, loaded_at: datetime) -> None:
    """Store the version unless it is stored: processes starting at once may both adopt it."""
    insert_once(
        conn,
        t.policies,
        {
            "key": version.key,
            "label": version.label,
            "content_hash": version.content_hash,
            "body": version.policy.model_dump(mode="json"),
            "loaded_at": loaded_at,
        },
        ("key",),
    )


def policy_body(conn: Connection, key: str) -> Any:
    """The stored policy's JSON body; None when no version has this key."""
    return conn.execute(select(t.policies.c.body).where(t.policies.c.key == key)).scalar()
