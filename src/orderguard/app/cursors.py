"""Opaque page cursors: the (time, id) key of the last row of a page, as URL-safe text."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from orderguard.domain.machine import Refusal, Refused


def encode_cursor(at: datetime, ident: str) -> str:
    raw = json.dumps([at.isoformat(), ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The key a cursor of `encode_cursor` holds; 422 `invalid_cursor` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, ident = json.loads(raw)
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:  # every cursor given out is UTC; a naive one cannot be compared
            raise ValueError("cursor time has no time zone")
        return when, str(ident)
    except (ValueError, TypeError) as e:
        raise Refused(Refusal("invalid_cursor", "the cursor is not one this API gave out", 422)) from e
