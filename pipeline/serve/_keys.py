"""API keys for ``loom serve``: made by ``loom serve keys add NAME``, shown once, stored only as a SHA-256.

A key is 32 random bytes (URL-safe base64 behind a ``loom_`` prefix), so a plain SHA-256 is as hard to reverse as
the key is to guess: no slow hash is needed, and checking one costs microseconds. The file is the data dir's, private
to its owner, replaced atomically under a lock (a server reading it sees the old list or the new one; two ``keys add``
at once both land), and read again by a running server when it changes: a revoked key stops working at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline import errors
from pipeline.core import loom_home

KEY_PREFIX = "loom_"
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
MAX_KEYS_FILE = 1 << 20


class StoredKey(BaseModel):
    """One key as the file keeps it: never the key itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    sha256: str
    created_at: float
    revoked_at: float | None = None


class _KeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[StoredKey] = []


def default_keys_file() -> Path:
    return loom_home() / "serve-keys.json"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """The keys in one file: add, revoke, list, and ``check`` (the name of the live key a request presented)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_keys_file()
        self._lock = threading.Lock()
        self._seen: tuple[int, ...] | None = None  # (inode, size, mtime, ctime, mode) of the file last read
        self._keys: list[StoredKey] = []

    def add(self, name: str) -> str:
        """A new key named ``name``, returned once (only its digest is stored)."""
        if not NAME.fullmatch(name):
            raise errors.InvalidInput(
                f"key name {name[:80]!r}: use 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter "
                "or digit"
            )
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._editing() as keys:
            if any(k.name == name and k.revoked_at is None for k in keys):
                raise errors.InvalidInput(f"a live key is already named {name!r}: revoke it first or pick another name")
            keys.append(StoredKey(name=name, sha256=_digest(key), created_at=time.time()))
        return key

    def revoke(self, name: str) -> None:
        with self._editing() as keys:
            live = [i for i, k in enumerate(keys) if k.name == name and k.revoked_at is None]
            if not live:
                raise errors.InvalidInput(f"no live key is named {name[:80]!r} (`loom serve keys list`)")
            for i in live:
                keys[i] = keys[i].model_copy(update={"revoked_at": time.time()})

    def stored(self) -> list[StoredKey]:
        """Every key the file holds, live and revoked."""
        return list(self._read())

    def check(self, presented: str | None) -> str | None:
        """The name of the live key ``presented`` is, or ``None``. Every stored digest is compared, in constant time."""
        if not presented or not presented.startswith(KEY_PREFIX) or len(presented) > 128:
            return None
        digest = _digest(presented)
        found = None
        for key in self._read():
            if hmac.compare_digest(key.sha256, digest) and key.revoked_at is None:
                found = key.name
        return found

    def _read(self) -> list[StoredKey]:
        """The keys, read again only when the file changed since the last read."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return []
        seen = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode)  # chmod: ctime
        with self._lock:
            if seen != self._seen:
                self._keys = self._load()
                self._seen = seen
            return self._keys

    def _load(self) -> list[StoredKey]:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise errors.StoreCorrupted(f"the API keys file {self.path} cannot be read: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as fh:
            if os.fstat(fh.fileno()).st_mode & 0o077:
                raise errors.StoreCorrupted(
                    f"the API keys file {self.path} can be read by others: not trusted (chmod 600 it, or move it aside "
                    "and add the keys again)"
                )
            data = fh.read(MAX_KEYS_FILE + 1)
        try:
            if len(data) > MAX_KEYS_FILE:
                raise ValueError("too large")
            return _KeysFile.model_validate(json.loads(data)).keys
        except (ValueError, ValidationError):
            raise errors.StoreCorrupted(
                f"the API keys file {self.path} is damaged: move it aside and add the keys again"
            ) from None

    @contextmanager
    def _editing(self) -> Iterator[list[StoredKey]]:
        """The list to change, written back atomically under an exclusive lock beside the file."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            keys = self._load()
            yield keys
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".serve-keys-")
            try:
                with os.fdopen(fd, "w") as fh:
                    fh.write(_KeysFile(keys=keys).model_dump_json(indent=1))
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        finally:
            os.close(lock_fd)
