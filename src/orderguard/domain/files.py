"""Uploaded files: their type is recognised from their content, never from their name or label.

A file is taken only when its bytes are one of the known types (`sniff`): JPEG, PNG, WebP and GIF
images, PDF documents, MP4 and WebM videos. Each is recognised by its signature and by a little of
its structure (a JPEG ends with its end-of-image marker, a PNG's first chunk is IHDR, a PDF has its
end-of-file marker near the end, a WebP's RIFF size fits the file...), so a few magic bytes in
front of something else are not enough.

Refusals (422, each with its stable code):
- `file_empty`: no bytes;
- `file_too_large`: more bytes than the limit the caller passes (a policy value);
- `unsupported_file_type`: not one of the types this upload accepts (or of any type we know);
- `file_type_mismatch`: the file is not what it claims. A claim is the declared content type of
  the upload, or the extension of its file name, when either names a type. A claim that names
  another type than the content's is refused, not corrected: a "photo.jpg" that is a PDF, or a
  part labelled `image/png` holding a JPEG, says something false about the evidence. No claim
  (no content type or `application/octet-stream`, no extension or one we do not know) is no
  mismatch: the content decides.

What is recorded of a taken file: its SHA-256 (the name it is kept under), its size and the type
recognised from its content (`FileFacts`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from orderguard.domain.machine import Refusal, Refused

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
GIF = "image/gif"
PDF = "application/pdf"
MP4 = "video/mp4"
WEBM = "video/webm"

IMAGES = frozenset({JPEG, PNG, WEBP, GIF})
DOCUMENTS = frozenset({PDF})
VIDEOS = frozenset({MP4, WEBM})
KNOWN = IMAGES | DOCUMENTS | VIDEOS

# Names a client may give a type by: the canonical one and the aliases in common use.
_DECLARED: dict[str, str] = {
    JPEG: JPEG,
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    PNG: PNG,
    "image/x-png": PNG,
    WEBP: WEBP,
    GIF: GIF,
    PDF: PDF,
    "application/x-pdf": PDF,
    MP4: MP4,
    WEBM: WEBM,
}
NO_CLAIM = frozenset({"", "application/octet-stream", "binary/octet-stream"})
EXTENSIONS: dict[str, str] = {
    "jpg": JPEG,
    "jpeg": JPEG,
    "jpe": JPEG,
    "jfif": JPEG,
    "png": PNG,
    "webp": WEBP,
    "gif": GIF,
    "pdf": PDF,
    "mp4": MP4,
    "m4v": MP4,
    "webm": WEBM,
}
SHORT_NAMES = {JPEG: "JPEG", PNG: "PNG", WEBP: "WebP", GIF: "GIF", PDF: "PDF", MP4: "MP4", WEBM: "WebM"}

# ISO base media brands of MP4 video (not HEIF/AVIF images, not QuickTime)
_MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash",
     b"mmp4", b"MSNV", b"f4v "}
)  # fmt: skip
_TAIL = 1024  # end markers may be followed by a little padding


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What is recorded of an accepted file."""

    sha256: str
    size: int
    media_type: str  # recognised from the content


def _jpeg(data: bytes) -> bool:
    return data.startswith(b"\xff\xd8\xff") and b"\xff\xd9" in data[-_TAIL:]


def _png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and b"IEND" in data[-_TAIL:]


def _gif(data: bytes) -> bool:
    return data[:6] in (b"GIF87a", b"GIF89a") and len(data) > 13 and b"\x3b" in data[-16:]


def _webp(data: bytes) -> bool:
    if len(data) < 16 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    riff_size = int.from_bytes(data[4:8], "little")
    return riff_size + 8 <= len(data) and data[12:16] in (b"VP8 ", b"VP8L", b"VP8X")


def _pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-_TAIL:]


def _mp4(data: bytes) -> bool:
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    box = int.from_bytes(data[0:4], "big")
    return 16 <= box <= len(data) and data[8:12] in _MP4_BRANDS


def _webm(data: bytes) -> bool:
    # EBML header, then its DocType element (0x4282) saying "webm" (Matroska in general is refused)
    return data.startswith(b"\x1a\x45\xdf\xa3") and b"\x42\x82\x84webm" in data[4:64]


_SNIFFERS: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    (JPEG, _jpeg),
    (PNG, _png),
    (GIF, _gif),
    (WEBP, _webp),
    (PDF, _pdf),
    (MP4, _mp4),
    (WEBM, _webm),
)


def sniff(data: bytes) -> str | None:
    """The type of `data` recognised from its bytes, or None when it is none we know."""
    for media_type, looks_like in _SNIFFERS:
        if looks_like(data):
            return media_type
    return None


def claimed_types(declared_type: str | None, filename: str | None) -> list[tuple[str, str]]:
    """What the upload claims to be: (how it claims it, the type it names)."""
    claims: list[tuple[str, str]] = []
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    if declared not in NO_CLAIM:
        claims.append((f"content type {declared}", _DECLARED.get(declared, declared)))
    name = (filename or "").strip()
    if "." in name:
        extension = name.rsplit(".", 1)[1].lower()
        if extension in EXTENSIONS:
            claims.append((f"file name extension .{extension}", EXTENSIONS[extension]))
    return claims


def _names(types: Iterable[str]) -> str:
    return ", ".join(SHORT_NAMES.get(t, t) for t in sorted(types, key=lambda t: SHORT_NAMES.get(t, t)))


def check_upload(
    data: bytes,
    *,
    declared_type: str | None,
    filename: str | None,
    max_bytes: int,
    accepted: frozenset[str],
) -> FileFacts:
    """The facts of an uploaded file of a type in `accepted`, or why it is refused (422)."""
    if not data:
        raise Refused(Refusal("file_empty", "the file is empty", 422))
    if len(data) > max_bytes:
        raise Refused(
            Refusal("file_too_large", f"the file has {len(data)} bytes; at most {max_bytes} are taken", 422)
        )
    found = sniff(data)
    if found is None:
        raise Refused(
            Refusal(
                "unsupported_file_type",
                f"the content is not a file of a type taken here ({_names(accepted)})",
                422,
            )
        )
    for how, claimed in claimed_types(declared_type, filename):
        if claimed != found:
            raise Refused(
                Refusal(
                    "file_type_mismatch",
                    f"the file is not what it claims: its {how} says {SHORT_NAMES.get(claimed, claimed)}, "
                    f"its content is {SHORT_NAMES[found]}",
                    422,
                )
            )
    if found not in accepted:
        raise Refused(
            Refusal(
                "unsupported_file_type",
                f"a {SHORT_NAMES[found]} file is not taken here; send {_names(accepted)}",
                422,
            )
        )
    return FileFacts(hashlib.sha256(data).hexdigest(), len(data), found)
