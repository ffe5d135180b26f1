"""One policy for Loom's SQLite files (the journal, the registry): private to their owner, regular files only,
checked once per process when first opened (SQLite's header, ``PRAGMA quick_check``, the schema version), and every
SQLite failure as one typed error that names the file and what to do. A damaged journal never costs the registry,
nor the reverse: each is its own file, refused on its own."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline import errors

_HEADER = b"SQLite format 3\x00"
_UNWRITABLE = ("disk i/o error", "full", "readonly", "read-only", "unable to open", "out of memory")
_checked: set[tuple[Path, int]] = set()  # (path, inode): a file replaced since is checked again
_checked_lock = threading.Lock()
_SETUP_WAIT_S = 60


@dataclass(frozen=True)
class Database:
    """A SQLite file of the data dir: what it is (for messages), its schema and version, and what moving it aside
    would cost (said when it is damaged)."""

    path: Path
    what: str
    schema: str
    version: int
    aside: str

    def connect(self, timeout: float, isolation_level: Literal["DEFERRED"] | None = None) -> sqlite3.Connection:
        """A connection; the file is created private, or checked once per process before its first use."""
        self.prepare()
        with self.failures():
            return sqlite3.connect(self.path, timeout=timeout, isolation_level=isolation_level)

    def prepare(self) -> None:
        """Creates or checks the file, once per process (again if it was replaced since)."""
        with self.failures(), _checked_lock:
            if _identity(self.path) not in _checked:
                self._check()
                _checked.add(_identity(self.path))

    @contextmanager
    def failures(self) -> Iterator[None]:
        """SQLite's exceptions as Loom's: damaged (``StoreCorrupted``) or refused by the disk (``StoreUnwritable``)."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise self.failure(exc) from None

    def failure(self, exc: sqlite3.Error) -> errors.StoreFailed:
        problem = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and "locked" in problem:
            return errors.StoreUnwritable(f"the {self.what} {self.path} stayed busy: {problem}")
        if isinstance(exc, sqlite3.OperationalError) and any(w in problem.lower() for w in _UNWRITABLE):
            return errors.StoreUnwritable(
                f"the {self.what} {self.path} cannot be written: {problem} (is the disk full?)"
            )
        return self.damaged(problem)

    def damaged(self, problem: str) -> errors.StoreCorrupted:
        return errors.StoreCorrupted(
            f"the {self.what} {self.path} is damaged ({problem}): move it aside (`loom doctor --repair`, or mv "
            f"{self.path} {self.path}.damaged) to start a new one; {self.aside}"
        )

    def _check(self) -> None:
        """Creates the file 0600, or refuses what is not a SQLite file Loom can own; then the cheap integrity check
        SQLite itself does not make on open, the schema at its version, and WAL mode. All under an exclusive lock
        on the file: two processes opening a new data dir at once would otherwise see each other's half-written
        header as damage, or be refused the switch to WAL (SQLite does not wait for a journal-mode change)."""
        fd = _open_private(self.path, self)
        try:
            self._lock(fd)
            header = os.pread(fd, len(_HEADER), 0)
            size = os.fstat(fd).st_size
            if size and (size < 100 or header != _HEADER):
                raise self.damaged("not an SQLite database: its header is wrong or it is truncated")
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            try:
                if size:
                    verdict = db.execute("PRAGMA quick_check(1)").fetchone()[0]
                    if verdict != "ok":
                        raise self.damaged(f"quick_check: {verdict}")
                found = db.execute("PRAGMA user_version").fetchone()[0]
                if found > self.version:
                    raise self.damaged(f"schema version {found}, made by a newer Loom; this one reads {self.version}")
                if found < self.version:
                    db.executescript(self.schema)
                    db.execute(f"PRAGMA user_version = {int(self.version)}")
                if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    db.execute("PRAGMA journal_mode=WAL")  # kept by the file: every later connection is WAL
            finally:
                db.close()
        finally:
            os.close(fd)  # and with it the lock (SQLite's own locks are fcntl's, which flock does not touch)

    def _lock(self, fd: int) -> None:
        """Waits up to a minute for another process setting the file up (milliseconds, unless it is huge)."""
        deadline = time.monotonic() + _SETUP_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise errors.StoreUnwritable(
                        f"the {self.what} {self.path} stayed busy: another process held it for {_SETUP_WAIT_S} s "
                        "while opening it"
                    ) from None
                time.sleep(0.01)


class PerThread:
    """A file of the data dir used from several threads: each thread keeps its own connection (opening and closing
    one per record would cost a WAL checkpoint each time); writes are ``BEGIN IMMEDIATE`` transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._local = threading.local()
        self._conn()

    def _conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self.db.connect(timeout=60)
            with self.db.failures():
                db.execute("PRAGMA synchronous=NORMAL")  # WAL: a commit survives a crash of the process
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._conn()
        with self.db.failures():
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):  # a failed disk may have ended the transaction already
                    db.execute("ROLLBACK")
                raise

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self.db.failures():
            return [dict(r) for r in self._conn().execute(sql, args).fetchall()]

    def _changed(self, sql: str, args: tuple[Any, ...] = ()) -> bool:
        """Runs one statement in a transaction; whether it changed a row."""
        with self._tx() as db:
            return db.execute(sql, args).rowcount > 0


def _identity(path: Path) -> tuple[Path, int]:
    try:
        return path, os.lstat(path).st_ino
    except OSError:
        return path, -1


def _open_private(path: Path, database: Database) -> int:
    """The file, created 0600 whatever the umask (SQLite gives its -wal and -shm files the same mode); one left
    readable by others by an older Loom is made private; a symlink, FIFO or directory in its place is refused."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise database.damaged(f"cannot open it: {exc.strerror}; it must be a regular file") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise database.damaged("not a regular file")
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        os.fchmod(fd, 0o600)
    return fd
