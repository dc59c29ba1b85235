"""The hottest read pages rendered to JSON in one pass, without building their response models.

FastAPI checks what an endpoint returns against its response model and then serialises it, on the
event loop. For a page of 50 orders that meant building about 450 models from field dicts the view
had just made, then walking them again to write 75 KB: about 1 ms of the request, with the loop
blocked for the second half (benchmarks/README.md, "Issue #12, tenth change"). A page rendered here
is written by orjson straight from those field dicts, in the worker thread, and returned as the
response; its route still declares `response_model=`, so the OpenAPI document, the contract that
test_contract and schemathesis check, is unchanged.

The view that builds the fields owns their shape: keys in the model's field order, values of the
types the model declares (datetimes aware, in UTC, as the store gives them). So that a drift cannot
go unnoticed, `checking(True)` (the test suite turns it on for every test) makes each rendering
also validate its fields with the model and compare the model's own JSON with it, byte for byte;
a difference raises `RenderingDrift` (a 500), and the test that made the request fails.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel

_OPTIONS = orjson.OPT_UTC_Z  # UTC as "Z", as pydantic writes it
_check = False


class RenderingDrift(AssertionError):
    """A rendering differs from its response model's JSON of the same fields."""


def checking(on: bool) -> None:
    """Whether each rendering is also checked against its response model (tests; costs the model)."""
    global _check
    _check = on


def render(model: type[BaseModel], fields: dict[str, Any]) -> Response:
    """`fields` (the `model`'s, in its field order) as the JSON response the model would give."""
    body = orjson.dumps(fields, option=_OPTIONS)
    if _check:
        expected = model.model_validate(fields).model_dump_json().encode()
        if body != expected:
            at = next((i for i, (a, b) in enumerate(zip(body, expected, strict=False)) if a != b), len(body))
            near = slice(max(0, at - 80), at + 80)
            raise RenderingDrift(
                f"{model.__name__} rendered as ...{body[near]!r}..., its model gives ...{expected[near]!r}..."
            )
    return Response(content=body, media_type="application/json")
