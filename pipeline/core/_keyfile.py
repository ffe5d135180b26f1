"""Private keys in files (the module cache's HMAC key, the step cache's secret-digest key): created once, first
writer wins, and trusted only when they are private to this user."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from pathlib import Path

KEY_BYTES = 32


def _read_key(path: Path) -> bytes | None:
    """The key in ``path`` if it can be trusted to be private: a regular file (not a symlink, which could point to
    a file someone else controls), ours, unreadable by group and others, exactly ``KEY_BYTES`` long."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # NONBLOCK: a FIFO must not hang us
    except OSError:
        return None  # missing, or a symlink (ELOOP)
    try:
        st = os.fstat(fd)  # checks and read are on the same open file: no swap in between
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
            return None
        key = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    return key if len(key) == KEY_BYTES else None


def _discard_key(path: Path) -> None:
    """Removes an untrusted key file. It is first moved aside, so that if another process has meanwhile replaced
    it with a good key, that key is put back instead of deleted."""
    aside = path.with_name(f".tmp-bad-key-{secrets.token_hex(8)}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    if _read_key(aside) is not None:
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
    with contextlib.suppress(OSError):  # a directory, say: left aside, harmless
        os.unlink(aside)


def _create_key(path: Path) -> None:
    """Writes a fresh key to ``path`` unless one is there: first writer wins, and a racing process reads the
    winner's key."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mkstemp creates it with mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES))
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def private_key(path: Path, attempts: int = 3) -> bytes | None:
    """The key in ``path``, replacing a missing or untrusted one (whatever was signed with the old key then fails
    to verify); ``None`` if no private key can be kept there (e.g. a file system that ignores modes)."""
    for _ in range(attempts):
        key = _read_key(path)
        if key is not None:
            return key
        _discard_key(path)
        _create_key(path)
    return None
