"""Prefixed random identifiers (ord_…, pay_…): opaque, unguessable, safe to show."""

from __future__ import annotations

import hashlib
import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def derived_id(prefix: str, *parts: str) -> str:
    """An id that follows from what caused it: the same cause always gives the same id, so a second
    refund or fine for one decision collides on its primary key instead of paying twice."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]
    return f"{prefix}_{digest}"
