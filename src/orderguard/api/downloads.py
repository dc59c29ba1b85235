"""Uploaded files sent back: always as an attachment, typed from their content, sandboxed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.responses import Response

EXTENSIONS = {"image/jpeg": "jpg", "application/pdf": "pdf"}  # else the media type's subtype


def file_responses(media_types: Iterable[str], what: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entry of a download of `what`: one binary string per media type."""
    return {
        200: {
            "description": f"The {what} as uploaded, with the type recognised from its content; always "
            "sent as an attachment.",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}} for media in sorted(media_types)
            },
        }
    }


def attachment(data: bytes, media_type: str, name: str, sha256: str) -> Response:
    """The file as a download named `name`.<extension>, never rendered in the API's origin."""
    extension = EXTENSIONS.get(media_type, media_type.split("/")[-1])
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}.{extension}"',
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "ETag": f'"{sha256}"',
        },
    )
