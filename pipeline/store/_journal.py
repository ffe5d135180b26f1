"""The run journal: every run, step attempt and cached result, in SQLite (WAL) in the data dir.

Each record is committed before the runner moves on (records made at the same moment, such as the steps a batch
finished, share one transaction), so a run killed at any point leaves a consistent history to resume from, and
several runs (in several processes) can share one journal. Statuses are stored as their plain string values.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

from pipeline import errors
from pipeline.core import HttpExchange, loom_home
from pipeline.store._sqlite import Database, PerThread

SCHEMA_VERSION = 2  # 2: the logs table (and http_requests, for journals made before it, which lacked it)
RUN_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")  # as start_run makes them

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, spec TEXT NOT NULL, input_blob TEXT NOT NULL,
    status TEXT NOT NULL, created_at REAL NOT NULL, finished_at REAL, output_blob TEXT, error TEXT
);
CREATE TABLE IF NOT EXISTS attempts (
    run_id TEXT NOT NULL, step TEXT NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL,
    activity TEXT NOT NULL, cache_key TEXT, input_digest TEXT, output_blob TEXT, error_type TEXT, error TEXT,
    started_at REAL NOT NULL, finished_at REAL,
    PRIMARY KEY (run_id, step, attempt)
);
CREATE TABLE IF NOT EXISTS cache (cache_key TEXT PRIMARY KEY, output_blob TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS http_requests (
    run_id TEXT NOT NULL, step TEXT NOT NULL, method TEXT NOT NULL, url TEXT NOT NULL, started_at REAL NOT NULL,
    ms INTEGER NOT NULL, status INTEGER, response_bytes INTEGER, response_sha256 TEXT, error TEXT
);
CREATE INDEX IF NOT EXISTS http_requests_of_run ON http_requests (run_id, started_at);
CREATE TABLE IF NOT EXISTS logs (
    run_id TEXT NOT NULL, step TEXT NOT NULL, attempt INTEGER NOT NULL, level TEXT NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_of_run ON logs (run_id);
"""


class StepStatus(StrEnum):
    """An attempt's status, as stored in the journal."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    CACHED = "cached"
    SKIPPED = "skipped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process died


class RunStatus(StrEnum):
    """A run's status; ``interrupted`` is never stored: it is how a ``running`` run whose process is gone reads."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


DONE = frozenset({StepStatus.SUCCEEDED, StepStatus.CACHED, StepStatus.SKIPPED})
"""The statuses of a step that needs no more attempts."""


@dataclass(frozen=True, slots=True)
class NewAttempt:
    """An attempt to record: ``running``, or already over when it is ``cached`` or ``skipped``."""

    step: str
    attempt: int
    activity: str
    status: StepStatus = StepStatus.RUNNING
    cache_key: str | None = None
    input_digest: str | None = None
    output_blob: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptEnd:
    """How a running attempt ended; a success with a ``cache_key`` becomes that key's cached result."""

    step: str
    attempt: int
    status: StepStatus
    output_blob: str | None = None
    error_type: str | None = None
    error: str | None = None
    cache_key: str | None = None


class Attempt(BaseModel):
    run_id: str
    step: str
    attempt: int
    status: StepStatus
    activity: str
    cache_key: str | None = None
    input_digest: str | None = None
    output_blob: str | None = None
    error_type: str | None = None
    error: str | None = None
    started_at: float
    finished_at: float | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.finished_at is None else self.finished_at - self.started_at


class HttpRequest(HttpExchange):
    """One HTTP request a run's step made (``loom_http``), or one refused: never a header, a body or a secret."""

    step: str


class LogLine(BaseModel):
    """A line an attempt's activity logged (``loom.log``), as the guest wrote it: untrusted text."""

    step: str
    attempt: int
    level: str
    text: str


class Run(BaseModel):
    run_id: str
    pipeline: str
    spec: str
    input_blob: str
    status: RunStatus
    created_at: float
    finished_at: float | None = None
    output_blob: str | None = None
    error: str | None = None


class RunLock:
    """Held by the process that runs a run, as an advisory lock on a file beside the journal: the kernel releases
    it when that process ends, however it ends (kill -9 included), so a run whose lock is free is not live."""

    def __init__(self, directory: Path, run_id: str) -> None:
        if not RUN_ID.fullmatch(run_id):  # read back from a file: as strictly checked as if a user typed it
            raise errors.StoreCorrupted(f"the journal beside {directory} names a run {run_id[:80]!r}: not a run ID")
        directory.mkdir(mode=0o700, exist_ok=True)
        self.path = directory / run_id
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Takes the lock if no live process holds it; False when one does."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise errors.StoreCorrupted(
                f"the run lock {self.path} cannot be opened ({exc.strerror}): it must be a regular file; remove it"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None

    def held_elsewhere(self) -> bool:
        """Whether a live process holds the lock; a symlink or directory in its place is held by none (``acquire``
        refuses it), so listing runs still works."""
        if not self.path.is_file() or self.path.is_symlink():
            return False
        if not self.acquire():
            return True
        self.release()
        return False


class Journal(PerThread):
    """The run journal: runs, their steps' attempts, the HTTP requests they made, and the step cache."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        super().__init__(Database(self.path, "journal", _SCHEMA, SCHEMA_VERSION, "the registry and the blobs are kept"))

    def lock(self, run_id: str) -> RunLock:
        return RunLock(self.path.parent / f"{self.path.name}.locks", run_id)

    def _seen(self, run: Run) -> Run:
        """A run the journal says is running but whose process is gone is shown as interrupted."""
        if (
            run.status == RunStatus.RUNNING
            and RUN_ID.fullmatch(run.run_id)
            and not self.lock(run.run_id).held_elsewhere()
        ):
            return run.model_copy(update={"status": RunStatus.INTERRUPTED})
        return run

    # runs
    def start_run(self, pipeline: str, spec_json: str, input_blob: str) -> str:
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                (run_id, pipeline, spec_json, input_blob, RunStatus.RUNNING, time.time()),
            )
        return run_id

    def finish_run(
        self, run_id: str, status: RunStatus, output_blob: str | None = None, error: str | None = None
    ) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, output_blob = ?, error = ? WHERE run_id = ?",
                (status, time.time(), output_blob, error, run_id),
            )

    def reopen_run(self, run_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status = ?, finished_at = NULL, error = NULL WHERE run_id = ?",
                (RunStatus.RUNNING, run_id),
            )

    def run(self, run_id: str) -> Run | None:
        rows = self._rows("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        return self._seen(Run(**rows[0])) if rows else None

    def runs(self, limit: int = 50) -> list[Run]:
        rows = self._rows("SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", (limit,))
        return [self._seen(Run(**r)) for r in rows]

    def interrupt_attempts(self, run_id: str) -> int:
        """Marks the attempts a dead process left running as interrupted; returns how many."""
        with self._tx() as db:
            return db.execute(
                "UPDATE attempts SET status = ?, finished_at = ? WHERE run_id = ? AND status = ?",
                (StepStatus.INTERRUPTED, time.time(), run_id, StepStatus.RUNNING),
            ).rowcount

    # attempts
    def begin_attempts(self, run_id: str, attempts: list[NewAttempt]) -> None:
        """Records attempts in one transaction (the runner numbers them: it holds the run's lock)."""
        if attempts:
            with self._tx() as db:
                self._insert(db, run_id, attempts)

    @staticmethod
    def _insert(db: sqlite3.Connection, run_id: str, attempts: list[NewAttempt]) -> None:
        now = time.time()
        db.executemany(
            "INSERT INTO attempts (run_id, step, attempt, status, activity, cache_key, input_digest, "
            "output_blob, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    a.step,
                    a.attempt,
                    a.status,
                    a.activity,
                    a.cache_key,
                    a.input_digest,
                    a.output_blob,
                    now,
                    None if a.status == StepStatus.RUNNING else now,
                )
                for a in attempts
            ],
        )

    def end_attempts(self, run_id: str, ends: list[AttemptEnd]) -> None:
        """Records how attempts ended, and the cache entries of the successes, in one transaction."""
        if not ends:
            return
        now = time.time()
        with self._tx() as db:
            db.executemany(
                "UPDATE attempts SET status = ?, output_blob = ?, error_type = ?, error = ?, "
                "finished_at = ? WHERE run_id = ? AND step = ? AND attempt = ?",
                [(e.status, e.output_blob, e.error_type, e.error, now, run_id, e.step, e.attempt) for e in ends],
            )
            db.executemany(
                "INSERT OR REPLACE INTO cache VALUES (?, ?, ?)",
                [
                    (e.cache_key, e.output_blob, now)
                    for e in ends
                    if e.status == StepStatus.SUCCEEDED and e.output_blob and e.cache_key
                ],
            )

    def attempts(self, run_id: str) -> list[Attempt]:
        rows = self._rows("SELECT * FROM attempts WHERE run_id = ? ORDER BY started_at, step, attempt", (run_id,))
        return [Attempt(**r) for r in rows]

    # HTTP requests
    def record_http(self, run_id: str, requests: list[HttpRequest]) -> None:
        """Keeps the requests steps made (they come back with the steps' results, refused ones included)."""
        if not requests:
            return
        names = list(HttpRequest.model_fields)
        with self._tx() as db:
            db.executemany(
                f"INSERT INTO http_requests (run_id, {', '.join(names)}) VALUES (?{', ?' * len(names)})",
                [(run_id, *r.model_dump().values()) for r in requests],
            )

    def record_logs(self, run_id: str, lines: list[LogLine]) -> None:
        """Keeps the lines steps logged (they come back with the steps' results, bounded by the worker)."""
        if lines:
            with self._tx() as db:
                db.executemany(
                    "INSERT INTO logs (run_id, step, attempt, level, text) VALUES (?, ?, ?, ?, ?)",
                    [(run_id, line.step, line.attempt, line.level, line.text) for line in lines],
                )

    def logs(self, run_id: str) -> list[LogLine]:
        rows = self._rows("SELECT step, attempt, level, text FROM logs WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [LogLine.model_validate(r) for r in rows]

    def http_requests(self, run_id: str) -> list[HttpRequest]:
        rows = self._rows("SELECT * FROM http_requests WHERE run_id = ? ORDER BY started_at, rowid", (run_id,))
        return [HttpRequest(**{k: v for k, v in r.items() if k != "run_id"}) for r in rows]

    # cache
    def cached(self, cache_key: str, *, max_age_s: float | None = None) -> str | None:
        """The output cached under ``cache_key``; with ``max_age_s``, only if it was made within that many seconds."""
        rows = self._rows("SELECT output_blob, created_at FROM cache WHERE cache_key = ?", (cache_key,))
        if not rows or (max_age_s is not None and time.time() - rows[0]["created_at"] > max_age_s):
            return None
        return str(rows[0]["output_blob"])

    def remember(self, cache_key: str, blob: str) -> None:
        """A cache entry made outside a step (a chain's receipt)."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO cache VALUES (?, ?, ?)", (cache_key, blob, time.time()))


def default_journal() -> Journal:
    return Journal(loom_home() / "journal.sqlite")
