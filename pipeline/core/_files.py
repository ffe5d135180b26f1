"""Reading files Loom is handed: regular files only, and never more than a bound, checked while reading.

A path may name a FIFO (an open would wait forever), a device such as ``/dev/zero`` (endless), or a file far larger
than anything Loom reads; each is refused on one line that names the file and the bound.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pipeline import errors


def read_bounded(path: Path | str, limit: int, what: str) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them; ``what`` names it in errors."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO opens at once instead of waiting
    except OSError as exc:
        raise errors.InvalidInput(f"cannot read {what} {str(path)!r}: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise errors.InvalidInput(f"{what} {str(path)!r} is not a regular file")
    with os.fdopen(fd, "rb") as file:
        if info.st_size > limit:
            raise errors.InvalidInput(f"{what} {str(path)!r} has {info.st_size:,} bytes; at most {limit:,} are read")
        data = file.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise errors.InvalidInput(f"{what} {str(path)!r} has over {limit:,} bytes; at most {limit:,} are read")
    return data


def write_atomic(path: Path, data: bytes) -> None:
    """Writes ``path`` whole or not at all: a temporary file beside it, flushed to disk, then renamed over it (a full
    disk or a crash leaves the old file, or none, never half of the new one)."""
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
