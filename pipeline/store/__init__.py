"""What Loom persists in its data dir: blobs by their SHA-256 (modules, receipts, step outputs), the activity
registry, the run journal and ``loom serve``'s proving sessions (SQLite files, all opened the same way)."""

from pipeline.store._blobs import BlobStore, FileBlobStore, MemoryBlobStore, default_blobstore
from pipeline.store._doctor import Checkup, Finding, Health, examine
from pipeline.store._journal import (
    DONE,
    RUN_ID,
    Attempt,
    AttemptEnd,
    HttpRequest,
    Journal,
    LogLine,
    NewAttempt,
    Run,
    RunLock,
    RunStatus,
    StepStatus,
    default_journal,
)
from pipeline.store._registry import ActivityRegistry, default_registry, semver_key
from pipeline.store._sessions import UUID as SESSION_UUID
from pipeline.store._sessions import ProvingSessions, Session, SessionsLock, SessionStatus, UploadKind

__all__ = [
    "DONE",
    "RUN_ID",
    "SESSION_UUID",
    "ActivityRegistry",
    "Attempt",
    "AttemptEnd",
    "BlobStore",
    "Checkup",
    "FileBlobStore",
    "Finding",
    "Health",
    "HttpRequest",
    "Journal",
    "LogLine",
    "MemoryBlobStore",
    "NewAttempt",
    "ProvingSessions",
    "Run",
    "RunLock",
    "RunStatus",
    "Session",
    "SessionStatus",
    "SessionsLock",
    "StepStatus",
    "UploadKind",
    "default_blobstore",
    "default_journal",
    "default_registry",
    "examine",
    "semver_key",
]
