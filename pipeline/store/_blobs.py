"""Content-addressed blob storage: modules, receipts and step outputs, each named by the sha256 of its bytes.

``get`` re-hashes what it returns, so a corrupted blob is detected, never executed or trusted; ``put`` of the right
bytes repairs it.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

from pipeline import errors
from pipeline.core import is_digest, loom_home, read_bounded, sha256_hex

MAX_BLOB_BYTES = 1 << 30  # past any module, output (64 MiB at most) or receipt Loom writes
TEMPORARY_PREFIX = ".tmp-"  # a blob being written, renamed to its digest once it is whole


def _checked(digest: str) -> str:
    if not is_digest(digest):
        raise errors.InvalidInput(f"not a sha256 digest: {digest!r}")
    return digest


class BlobStore(ABC):
    """Bytes by sha256: ``put`` returns the digest, ``get`` verifies it."""

    def put(self, data: bytes) -> str:
        """Stores ``data`` unless an intact copy is there: a damaged copy is rewritten, never kept because its name
        is right."""
        digest = sha256_hex(data)
        if not self._intact(digest, len(data)):
            self._write(digest, bytes(data))
        return digest

    def get(self, digest: str) -> bytes:
        data = self._read(_checked(digest))
        if sha256_hex(data) != digest:
            raise errors.BlobCorrupted(f"blob {digest} is corrupted: its bytes hash to {sha256_hex(data)}")
        return data

    def has(self, digest: str) -> bool:
        return self._exists(_checked(digest))

    def _intact(self, digest: str, size: int) -> bool:
        """Whether the stored copy exists and still hashes to ``digest``; a truncated or empty copy fails on its
        size, before any hashing."""
        try:
            stored = self._read(digest)
        except (errors.BlobNotFound, errors.BlobCorrupted):  # absent, or something planted that a write replaces
            return False
        return len(stored) == size and sha256_hex(stored) == digest

    @abstractmethod
    def _write(self, digest: str, data: bytes) -> None: ...

    @abstractmethod
    def _read(self, digest: str) -> bytes:
        """The stored bytes, or ``BlobNotFound``."""

    @abstractmethod
    def _exists(self, digest: str) -> bool: ...


class MemoryBlobStore(BlobStore):
    """For tests and short-lived runs."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def _write(self, digest: str, data: bytes) -> None:
        self._blobs[digest] = data

    def _read(self, digest: str) -> bytes:
        try:
            return self._blobs[digest]
        except KeyError:
            raise errors.BlobNotFound(f"no blob {digest}") from None

    def _exists(self, digest: str) -> bool:
        return digest in self._blobs


class FileBlobStore(BlobStore):
    """One file per blob under ``root/ab/cdef...``; writes are atomic (temp file + rename), so readers in other
    processes never see half a blob, and durable (fsync of file and directory) before ``put`` returns, so a journal
    committed afterwards never names a blob a power cut left empty or missing."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:]

    def _write(self, digest: str, data: bytes) -> None:
        try:
            self._write_file(digest, data)
        except OSError as exc:  # a full or failing disk: the blob is not stored, and nothing names it yet
            raise errors.StoreUnwritable(f"cannot store a blob in {self.root}: {exc.strerror}") from None

    def _write_file(self, digest: str, data: bytes) -> None:
        target = self.path(digest)
        try:
            target.parent.mkdir(mode=0o700)
            _fsync_dir(self.root)  # the new shard directory's entry
        except FileExistsError:
            pass
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMPORARY_PREFIX)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())  # data on disk before the name points at it
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)  # the rename itself

    def _read(self, digest: str) -> bytes:
        """Read as a hostile file would be: a symlink, a FIFO or a device planted under the blob's name is refused
        at once, and nothing past ``MAX_BLOB_BYTES`` is read."""
        path = self.path(digest)
        if not os.path.lexists(path):
            raise errors.BlobNotFound(f"no blob {digest} in {self.root}")
        return read_bounded(path, MAX_BLOB_BYTES, "blob file", follow_symlinks=False, error=errors.BlobCorrupted)

    def _exists(self, digest: str) -> bool:
        path = self.path(digest)
        return path.is_file() and not path.is_symlink()


def _fsync_dir(path: Path) -> None:
    """Makes the directory's entries (a new or renamed file in it) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def default_blobstore() -> FileBlobStore:
    """The blob store in the data dir (``$LOOM_HOME/blobs``)."""
    return FileBlobStore(loom_home() / "blobs")
