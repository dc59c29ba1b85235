"""Uploaded files: recognised by content, refused when empty, too large, unknown or not what they claim."""

from __future__ import annotations

import hashlib

import pytest

from orderguard.domain import files
from orderguard.domain.files import check_upload, sniff
from orderguard.domain.machine import Refused
from tests import samples

ALL = files.KNOWN
SAMPLES = {
    files.JPEG: samples.jpeg(),
    files.PNG: samples.png(),
    files.GIF: samples.gif(),
    files.WEBP: samples.webp(),
    files.PDF: samples.pdf(),
    files.MP4: samples.mp4(),
    files.WEBM: samples.webm(),
}


def _refusal(data: bytes, **kw: object) -> str:
    args: dict[str, object] = {"declared_type": None, "filename": None, "max_bytes": 10_000, "accepted": ALL}
    with pytest.raises(Refused) as e:
        check_upload(data, **{**args, **kw})  # type: ignore[arg-type]
    assert e.value.refusal.status == 422
    return e.value.refusal.code


@pytest.mark.parametrize("media_type", sorted(SAMPLES))
def test_each_type_is_recognised_from_its_content(media_type: str) -> None:
    data = SAMPLES[media_type]
    assert sniff(data) == media_type
    facts = check_upload(data, declared_type=media_type, filename=None, max_bytes=10_000, accepted=ALL)
    assert facts == files.FileFacts(hashlib.sha256(data).hexdigest(), len(data), media_type)


@pytest.mark.parametrize(
    "data",
    [
        b"hello, world",
        b"\xff\xd8\xff" + b"\x00" * 50,  # a JPEG signature with no end of image
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 50,  # a PNG signature with no IHDR
        b"%PDF-1.4\nno end",  # no %%EOF
        b"RIFF\xff\xff\xff\x7fWEBPVP8 ",  # a RIFF size beyond the file
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00heicmif1",  # a HEIF image, not MP4
        b"\x1a\x45\xdf\xa3\x88\x42\x82\x88matroska" + b"\x00" * 8,  # Matroska, not WebM
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    ],
)
def test_what_is_not_a_known_type_is_refused(data: bytes) -> None:
    assert sniff(data) is None
    assert _refusal(data) == "unsupported_file_type"


def test_empty_and_too_large() -> None:
    assert _refusal(b"") == "file_empty"
    big = samples.jpeg(padding=2_000)
    assert _refusal(big, max_bytes=len(big) - 1) == "file_too_large"
    assert check_upload(big, declared_type=None, filename=None, max_bytes=len(big), accepted=ALL).size == len(
        big
    )


@pytest.mark.parametrize(
    ("declared", "filename"),
    [
        ("image/png", None),  # labelled PNG, is a JPEG
        ("application/pdf", "photo.jpg"),
        (None, "scan.pdf"),  # named as a PDF
        ("text/plain", None),  # a claim of a type we do not take is still a claim
        ("image/jpeg", "receipt.PNG"),  # extensions compare case-insensitively
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused(declared: str | None, filename: str | None) -> None:
    assert _refusal(SAMPLES[files.JPEG], declared_type=declared, filename=filename) == "file_type_mismatch"


@pytest.mark.parametrize(
    ("declared", "filename"),
    [
        (None, None),
        ("application/octet-stream", "upload"),
        ("image/jpg", "IMG_0001.JPEG"),  # an alias and an extension of the same type
        ("image/jpeg; charset=binary", "label.scan.jpg"),
        ("", "photo.heic.unknown"),  # an extension we do not know claims nothing
    ],
)
def test_no_claim_or_a_true_one_lets_the_content_decide(declared: str | None, filename: str | None) -> None:
    facts = check_upload(
        SAMPLES[files.JPEG], declared_type=declared, filename=filename, max_bytes=10_000, accepted=ALL
    )
    assert facts.media_type == files.JPEG


def test_a_known_type_that_this_upload_does_not_take_is_refused() -> None:
    images_and_pdf = files.IMAGES | files.DOCUMENTS
    assert _refusal(SAMPLES[files.MP4], accepted=images_and_pdf) == "unsupported_file_type"
    assert _refusal(SAMPLES[files.WEBM], declared_type="video/webm", accepted=images_and_pdf) == (
        "unsupported_file_type"
    )
