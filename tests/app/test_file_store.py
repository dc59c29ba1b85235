"""The content-addressed file store on local disk: idempotent puts, whole files only, names checked."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from orderguard.providers.files import LocalFileStore, MemoryFileStore
from orderguard.settings import Settings


def test_put_names_a_file_by_its_sha256_and_keeps_it_once(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "files")
    data = b"proof of dispatch"
    name = store.put(data)
    assert name == hashlib.sha256(data).hexdigest()
    assert store.path(name) == tmp_path / "files" / name[:2] / name[2:4] / name
    assert store.put(data) == name  # idempotent
    assert store.open(name) == data
    assert [p.name for p in (tmp_path / "files").rglob("*") if p.is_file()] == [name]


def test_open_of_an_unknown_or_malformed_name_is_none(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    assert store.open("0" * 64) is None
    assert store.open("../../etc/passwd") is None
    assert store.open("A" * 64) is None  # names are lowercase hex
    with pytest.raises(ValueError):
        store.path("../x")


def test_a_damaged_file_is_not_handed_out(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    name = store.put(b"original")
    store.path(name).write_bytes(b"tampered")
    assert store.open(name) is None


def test_a_write_that_fails_leaves_neither_the_file_nor_its_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalFileStore(tmp_path)

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.put(b"half written")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_the_memory_store_behaves_the_same() -> None:
    store = MemoryFileStore()
    name = store.put(b"x")
    assert store.put(b"x") == name and store.open(name) == b"x" and store.open("0" * 64) is None


def test_files_go_beside_a_sqlite_database_unless_configured(tmp_path: Path) -> None:
    assert Settings(database_url=f"sqlite:///{tmp_path}/og.db").files_root() == tmp_path / "files"
    assert Settings(database_url="postgresql+psycopg://db/og").files_root() == Path("var/files")
    assert Settings(files_dir=tmp_path / "elsewhere").files_root() == tmp_path / "elsewhere"
