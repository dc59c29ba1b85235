"""The file-store port and its adapters: files kept by their content, named by their SHA-256.

A file is put once and found again by the hex SHA-256 of its bytes: putting the same bytes twice
stores them once and returns the same name (idempotent), so a retried upload costs nothing and
two records of the same photo share one file. Files are never changed or deleted through the
port.

`LocalFileStore` keeps them on local disk under `root/ab/cd/<sha256>`; a file is written to a
temporary file in the same folder, flushed to disk, then renamed into place, so a crash leaves
either the whole file or none of it under its name (at worst a stray temporary file). Readers
get the bytes back only if they still hash to their name.

`MemoryFileStore` keeps them in a dict, for tests and benchmarks in-process.

A use case puts a file before the transaction that records its name, never inside it: a failed
transaction leaves an unreferenced file (harmless, content-addressed), never a record of a file
that is not there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_sha256(name: str) -> bool:
    return _SHA256.fullmatch(name) is not None


class FileStore(Protocol):
    def put(self, data: bytes) -> str:
        """Keep `data`; returns its SHA-256 in lowercase hex, the name to open it by."""
        ...

    def open(self, sha256: str) -> bytes | None:
        """The bytes named `sha256`; None when no such file is kept."""
        ...


class LocalFileStore:
    """Files on local disk under `root`, two levels of folders by the name's first four hex digits."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise ValueError(f"not a SHA-256 in lowercase hex: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        name = sha256_hex(data)
        final = self.path(name)
        if final.exists():
            return name  # the same bytes are kept already
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, final)  # atomic: the name holds the whole file or nothing
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_folder(final.parent)
        return name

    def open(self, sha256: str) -> bytes | None:
        if not is_sha256(sha256):
            return None
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None
        if sha256_hex(data) != sha256:
            log.error("file %s does not match its name: damaged on disk", sha256)
            return None
        return data


def _sync_folder(folder: Path) -> None:
    """Make the rename durable; not every platform can open a folder for that."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class MemoryFileStore:
    """Files in memory, for tests and in-process benchmarks."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        name = sha256_hex(data)
        self.files.setdefault(name, bytes(data))
        return name

    def open(self, sha256: str) -> bytes | None:
        return self.files.get(sha256)
