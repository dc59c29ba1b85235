"""Upload routes (a body of `File` parameters) take multipart/form-data only, parsed with our limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import APIRouter, FastAPI, File, UploadFile
from fastapi.testclient import TestClient
from pydantic import BaseModel

from orderguard.api import problems
from orderguard.api.routing import ApiRoute
from tests.api.helpers import assert_problem


class Received(BaseModel):
    size: int
    filename: str | None
    content_type: str | None


@pytest.fixture
def client() -> Iterator[TestClient]:
    router = APIRouter(route_class=ApiRoute)

    @router.post("/upload", operation_id="upload")
    async def upload(file: Annotated[UploadFile, File()]) -> Received:
        data = await file.read()
        return Received(size=len(data), filename=file.filename, content_type=file.content_type)

    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    with TestClient(app) as c:
        yield c


def test_a_multipart_file_reaches_the_route_with_its_name_and_declared_type(client: TestClient) -> None:
    r = client.post("/upload", files={"file": ("proof.pdf", b"%PDF-1.4 ...", "application/pdf")})
    assert r.status_code == 200, r.text
    assert r.json() == {"size": 12, "filename": "proof.pdf", "content_type": "application/pdf"}


def test_a_file_larger_than_starlettes_default_part_size_is_taken(client: TestClient) -> None:
    r = client.post("/upload", files={"file": ("big.bin", b"x" * (3 * 1024 * 1024), "image/jpeg")})
    assert r.json()["size"] == 3 * 1024 * 1024


def test_json_or_no_content_type_is_refused_with_415(client: TestClient) -> None:
    assert_problem(client.post("/upload", json={"file": "x"}), 415, "unsupported_media_type")
    r = client.post("/upload", content=b"raw bytes", headers={"content-type": "image/png"})
    body = assert_problem(r, 415, "unsupported_media_type")
    assert "multipart/form-data" in body["detail"]
    assert_problem(client.post("/upload", content=b"raw"), 415, "unsupported_media_type")


def test_a_broken_multipart_body_is_400(client: TestClient) -> None:
    r = client.post(
        "/upload",
        content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
        headers={"content-type": "multipart/form-data"},  # no boundary
    )
    assert_problem(r, 400, "malformed_multipart")


def test_two_files_are_refused(client: TestClient) -> None:
    r = client.post("/upload", files=[("file", ("a.pdf", b"a", "application/pdf")), ("file", ("b", b"b"))])
    assert_problem(r, 400, "malformed_multipart")


def test_no_file_is_a_validation_error(client: TestClient) -> None:
    assert_problem(
        client.post("/upload", data={"note": "a form, not multipart"}), 415, "unsupported_media_type"
    )
    r = client.post(
        "/upload",
        content=b'--b\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--b--\r\n',
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["field"] == "file"
