"""Small, well-formed files of each type the file checks know, made here (no fixtures on disk)."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 1, height: int = 1, seed: int = 0) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\x00" + bytes([seed % 256, 0, 0]) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg(padding: int = 0) -> bytes:
    """A JFIF header, `padding` bytes of comment, and the end-of-image marker."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    comments = b""
    left = padding
    while left > 0:
        n = min(left, 65_000)
        comments += b"\xff\xfe" + struct.pack(">H", n + 2) + b"x" * n
        left -= n
    return b"\xff\xd8" + app0 + comments + b"\xff\xd9"


def gif() -> bytes:
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
        b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def webp() -> bytes:
    body = b"WEBP" + b"VP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00" + b"\x00"
    return b"RIFF" + struct.pack("<I", len(body)) + body


def pdf(text: str = "proof of dispatch") -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% " + text.encode() + b"\ntrailer << >>\n%%EOF\n"


def mp4() -> bytes:
    ftyp = b"ftyp" + b"isom" + b"\x00\x00\x02\x00" + b"isomiso2mp41"
    return struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", 8) + b"free"


def webm() -> bytes:
    doctype = b"\x42\x82\x84webm"
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(doctype)]) + doctype + b"\x18\x53\x80\x67" + b"\x00" * 8


def jpeg_of_size(size: int) -> bytes:
    """A well-formed JPEG of exactly `size` bytes (at least 26)."""
    padding = max(size - 26, 0)
    while len(data := jpeg(padding)) > size:
        padding -= len(data) - size
    assert len(data) == size, (len(data), size)
    return data
