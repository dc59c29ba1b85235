"""Prefixed random identifiers (ord_…, pay_…): opaque, unguessable, safe to show."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"
