"""Reading what Loom is handed, within bounds: one reader for every file and stream.

A path may name a FIFO (an open would wait forever), a device such as ``/dev/zero`` (endless), a symlink planted in
the data dir, or a file far larger than anything Loom reads; a stream may never end. Each is refused on one line
that names what was read and the bound, checked while reading, so no read costs more memory than its bound.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from pipeline import errors

MIB = 1 << 20
INPUT_BYTES = 64 * MIB  # an --input document: what an activity may take at most
TEXT_BYTES = 1 * MIB  # a key, a certificate, a trust file: small by nature
_CHUNK = 1 * MIB


def read_bounded(
    source: Path | str | BinaryIO,
    limit: int,
    what: str,
    *,
    follow_symlinks: bool = True,
    error: type[errors.LoomError] = errors.InvalidInput,
) -> bytes:
    """The bytes of the regular file at ``source`` (or of the stream), at most ``limit`` of them; ``what`` names it
    in the ``error``. ``follow_symlinks=False`` refuses a symlink (files Loom itself wrote are never one)."""
    if not isinstance(source, (str, Path)):
        return _read_stream(source, limit, what, error)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC  # a FIFO opens at once instead of waiting for a writer
    try:
        fd = os.open(source, flags if follow_symlinks else flags | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == getattr(os, "ELOOP", -1) and not follow_symlinks:
            raise error(f"{what} {str(source)!r} is a symlink, not a file Loom wrote") from None
        raise error(f"cannot read {what} {str(source)!r}: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # checked on the descriptor: a directory cannot even become a file object
        os.close(fd)
        raise error(f"{what} {str(source)!r} is not a regular file")
    with os.fdopen(fd, "rb") as file:
        if info.st_size > limit:
            raise error(f"{what} {str(source)!r} has {info.st_size:,} bytes; at most {limit:,} are read")
        try:
            data = file.read(limit + 1)
        except OSError as exc:
            raise error(f"cannot read {what} {str(source)!r}: {exc.strerror}") from None
    if len(data) > limit:  # it grew while being read
        raise error(f"{what} {str(source)!r} has over {limit:,} bytes; at most {limit:,} are read")
    return data


def _read_stream(stream: BinaryIO, limit: int, what: str, error: type[errors.LoomError]) -> bytes:
    """A stream in chunks, stopping one byte past the bound (an endless pipe ends here, not in the OOM killer)."""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        try:
            chunk = stream.read(min(_CHUNK, limit + 1 - size))
        except OSError as exc:
            raise error(f"cannot read {what}: {exc.strerror}") from None
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    if size > limit:
        raise error(f"{what} has over {limit:,} bytes; at most {limit:,} are read")
    return b"".join(parts)


def write_atomic(path: Path, data: bytes) -> None:
    """Writes ``path`` whole or not at all: a temporary file beside it, flushed to disk, then renamed over it (a full
    disk or a crash leaves the old file, or none, never half of the new one). A path that is not a regular file
    (``/dev/stdout``, ``/dev/full``, a FIFO) is written in place: there is nothing to rename over."""
    if path.exists() and not path.is_file():
        _write_in_place(path, data)
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise errors.InvalidInput(f"cannot write {str(path)!r}: {exc.strerror}") from None


def _write_in_place(path: Path, data: bytes) -> None:
    try:
        with open(path, "wb") as file:
            file.write(data)
            file.flush()
    except OSError as exc:
        raise errors.InvalidInput(f"cannot write {str(path)!r}: {exc.strerror}") from None
