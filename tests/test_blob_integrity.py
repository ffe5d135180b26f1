"""A damaged blob is detected on read and repaired by putting the right bytes again; writes reach the disk before
the journal can name them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline import errors
from pipeline.store import FileBlobStore, MemoryBlobStore

DATA = b"\x00asm\x01\x00\x00\x00" + bytes(range(256)) * 4


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _empty, _flip_a_byte])
def test_putting_the_right_bytes_repairs_a_damaged_blob(damage: Callable[[Path], None], tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path / "blobs")
    digest = blobs.put(DATA)
    damage(blobs.path(digest))
    with pytest.raises(errors.BlobCorrupted):
        blobs.get(digest)
    assert blobs.put(DATA) == digest
    assert blobs.get(digest) == DATA
    assert FileBlobStore(tmp_path / "blobs").get(digest) == DATA


def test_putting_repairs_a_damaged_blob_in_memory() -> None:
    blobs = MemoryBlobStore()
    digest = blobs.put(DATA)
    blobs._blobs[digest] = DATA[:-1]
    blobs.put(DATA)
    assert blobs.get(digest) == DATA


def test_putting_an_intact_blob_again_does_not_rewrite_it(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path / "blobs")
    digest = blobs.put(DATA)
    before = blobs.path(digest).stat()
    blobs.put(DATA)
    after = blobs.path(digest).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_write_fsyncs_the_file_before_the_rename_and_then_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without both, a power cut can leave the journal naming a blob whose file is empty or missing."""
    blobs = FileBlobStore(tmp_path / "blobs")
    digest = "ab" + "0" * 62
    target = blobs.path(digest)
    synced: list[tuple[int, bool]] = []  # (inode, whether the blob was already in place)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append((os.fstat(fd).st_ino, target.exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    blobs._write(digest, DATA)
    assert (target.stat().st_ino, False) in synced  # the file's data, before it takes the blob's name
    assert (target.parent.stat().st_ino, True) in synced  # the directory entry, after the rename
