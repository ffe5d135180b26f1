"""Proving sessions, as ``loom serve``'s Bonsai-compatible API keeps them: uploaded images (by image ID), inputs and
receipts (by the UUID the server gave), and sessions, each a durable job. The bytes are blobs; this SQLite file
(``sessions.sqlite`` beside the journal) holds what points at them, so a server killed mid-proof finds every
session it had accepted, and finishes each exactly once. It also keeps the runs the server started over
``/v1/runs`` until they end, so that the next server resumes those a stopped one cut short.

A session is ``queued``, then ``running``, then ``succeeded``, ``failed`` or ``aborted``; a session found
``running`` when a server starts was cut short, and runs again (a proof is all or nothing). Only one server may
own the file at a time (``SessionsLock``): two would run the same queue twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline import errors
from pipeline.core import loom_home
from pipeline.store._sqlite import Database, PerThread

SCHEMA_VERSION = 2  # 2: served_runs
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
"""The UUIDs this server hands out (version 4, lowercase): anything else names nothing here."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (image_id TEXT PRIMARY KEY, blob TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    uuid TEXT PRIMARY KEY, kind TEXT NOT NULL, blob TEXT, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    uuid TEXT PRIMARY KEY, image_id TEXT NOT NULL, input TEXT NOT NULL, assumptions TEXT NOT NULL,
    execute_only INTEGER NOT NULL, cycle_limit INTEGER, status TEXT NOT NULL, state TEXT, error TEXT,
    receipt_blob TEXT, journal_blob TEXT, segments INTEGER, total_cycles INTEGER, user_cycles INTEGER,
    log TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
    started_at REAL, finished_at REAL
);
CREATE INDEX IF NOT EXISTS sessions_by_status ON sessions (status, created_at);
CREATE TABLE IF NOT EXISTS served_runs (run_id TEXT PRIMARY KEY, created_at REAL NOT NULL);
"""


class UploadKind(StrEnum):
    INPUT = "input"
    RECEIPT = "receipt"


class SessionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"


FINAL = frozenset({SessionStatus.SUCCEEDED, SessionStatus.FAILED, SessionStatus.ABORTED})


class Session(BaseModel):
    uuid: str
    image_id: str
    input: str
    assumptions: list[str]
    execute_only: bool
    cycle_limit: int | None = None
    status: SessionStatus
    state: str | None = None
    error: str | None = None
    receipt_blob: str | None = None
    journal_blob: str | None = None
    segments: int | None = None
    total_cycles: int | None = None
    user_cycles: int | None = None
    log: str = ""
    attempts: int = 0
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None

    @classmethod
    def of(cls, row: dict[str, Any]) -> Session:
        return cls.model_validate({**row, "assumptions": json.loads(row["assumptions"])})


class ProvingSessions(PerThread):
    """The sessions file: uploaded images, inputs and receipts, the sessions over them, and the runs started over
    HTTP that have not ended."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or loom_home() / "sessions.sqlite"
        super().__init__(
            Database(self.path, "sessions file", _SCHEMA, SCHEMA_VERSION, "the journal and the blobs are kept")
        )

    # images
    def image(self, image_id: str) -> str | None:
        """The blob of the image with that ID, if one was uploaded."""
        rows = self._rows("SELECT blob FROM images WHERE image_id = ?", (image_id,))
        return rows[0]["blob"] if rows else None

    def add_image(self, image_id: str, blob: str) -> None:
        self._changed("INSERT OR IGNORE INTO images VALUES (?, ?, ?)", (image_id, blob, time.time()))

    def delete_image(self, image_id: str) -> bool:
        return self._changed("DELETE FROM images WHERE image_id = ?", (image_id,))

    # uploads
    def new_upload(self, kind: UploadKind) -> str:
        """A UUID to upload an input or a receipt to, once."""
        name = str(uuid.uuid4())
        self._changed("INSERT INTO uploads VALUES (?, ?, NULL, ?)", (name, kind, time.time()))
        return name

    def upload_kind(self, name: str) -> tuple[UploadKind, str | None] | None:
        """What an upload UUID is for, and its blob once uploaded."""
        rows = self._rows("SELECT kind, blob FROM uploads WHERE uuid = ?", (name,))
        return (UploadKind(rows[0]["kind"]), rows[0]["blob"]) if rows else None

    def fill_upload(self, name: str, blob: str) -> bool:
        """Records the upload's bytes; False when it was filled before (an upload URL is used once)."""
        return self._changed("UPDATE uploads SET blob = ? WHERE uuid = ? AND blob IS NULL", (blob, name))

    def delete_upload(self, name: str, kind: UploadKind) -> bool:
        return self._changed("DELETE FROM uploads WHERE uuid = ? AND kind = ?", (name, kind))

    # runs started over /v1/runs, until they end
    def run_started(self, run_id: str) -> None:
        self._changed("INSERT OR IGNORE INTO served_runs VALUES (?, ?)", (run_id, time.time()))

    def run_ended(self, run_id: str) -> None:
        self._changed("DELETE FROM served_runs WHERE run_id = ?", (run_id,))

    def unended_runs(self) -> list[str]:
        """The runs a server started that have not ended, oldest first."""
        return [r["run_id"] for r in self._rows("SELECT run_id FROM served_runs ORDER BY created_at")]

    # sessions
    def create(
        self, image_id: str, input_uuid: str, assumptions: list[str], execute_only: bool, cycle_limit: int | None
    ) -> str:
        name = str(uuid.uuid4())
        with self._tx() as db:
            db.execute(
                "INSERT INTO sessions (uuid, image_id, input, assumptions, execute_only, cycle_limit, status, "
                "state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    image_id,
                    input_uuid,
                    json.dumps(assumptions),
                    int(execute_only),
                    cycle_limit,
                    SessionStatus.QUEUED,
                    "Queued",
                    time.time(),
                ),
            )
        return name

    def session(self, name: str) -> Session | None:
        rows = self._rows("SELECT * FROM sessions WHERE uuid = ?", (name,))
        return Session.of(rows[0]) if rows else None

    def sessions(self, limit: int = 100) -> list[Session]:
        return [Session.of(r) for r in self._rows("SELECT * FROM sessions ORDER BY created_at DESC LIMIT ?", (limit,))]

    def waiting(self) -> list[str]:
        """Sessions to run, oldest first: queued ones, and running ones a stopped server left (run again)."""
        rows = self._rows(
            "SELECT uuid FROM sessions WHERE status IN (?, ?) ORDER BY created_at",
            (SessionStatus.QUEUED, SessionStatus.RUNNING),
        )
        return [r["uuid"] for r in rows]

    def start(self, name: str) -> bool:
        """Marks a session running (another attempt); False when it is over (stopped while it waited)."""
        return self._changed(
            "UPDATE sessions SET status = ?, state = 'Setup', started_at = ?, attempts = attempts + 1 "
            "WHERE uuid = ? AND status IN (?, ?)",
            (SessionStatus.RUNNING, time.time(), name, SessionStatus.QUEUED, SessionStatus.RUNNING),
        )

    def progress(self, name: str, state: str, line: str | None = None) -> None:
        self._changed(
            "UPDATE sessions SET state = ?, log = log || ? WHERE uuid = ? AND status = ?",
            (state, f"{line}\n" if line else "", name, SessionStatus.RUNNING),
        )

    def finish(self, name: str, status: SessionStatus, **facts: Any) -> bool:
        """Ends a running session once: a session stopped meanwhile stays aborted (its result is dropped)."""
        allowed = {"error", "receipt_blob", "journal_blob", "segments", "total_cycles", "user_cycles"}
        if not set(facts) <= allowed or status not in FINAL:
            raise ValueError(f"not a way to finish a session: {status} {sorted(facts)}")
        columns = "".join(f", {c} = ?" for c in facts)
        return self._changed(
            f"UPDATE sessions SET status = ?, state = NULL, finished_at = ?{columns} WHERE uuid = ? AND status = ?",
            (status, time.time(), *facts.values(), name, SessionStatus.RUNNING),
        )

    def stop(self, name: str) -> bool:
        """Aborts a session that is not over; False when it was."""
        return self._changed(
            "UPDATE sessions SET status = ?, state = NULL, error = 'stopped by the client', finished_at = ? "
            "WHERE uuid = ? AND status IN (?, ?)",
            (SessionStatus.ABORTED, time.time(), name, SessionStatus.QUEUED, SessionStatus.RUNNING),
        )


class SessionsLock:
    """Held by the one server that owns a sessions file (an advisory lock beside it, released by the kernel when
    that process ends, however it ends)."""

    def __init__(self, sessions: ProvingSessions) -> None:
        self.path = sessions.path.with_name(sessions.path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise errors.InvalidInput(
                f"another loom serve owns the proving sessions of this data dir ({self.path.parent})"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
