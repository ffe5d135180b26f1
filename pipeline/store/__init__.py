"""What Loom persists in its data dir: blobs by their SHA-256 (modules, receipts, step outputs), the activity
registry and the run journal (both SQLite, opened the same way)."""

from pipeline.store._blobs import BlobStore, FileBlobStore, MemoryBlobStore, default_blobstore
from pipeline.store._doctor import Checkup, Finding, Health, examine
from pipeline.store._journal import (
    DONE,
    RUN_ID,
    Attempt,
    AttemptEnd,
    HttpRequest,
    Journal,
    NewAttempt,
    Run,
    RunLock,
    RunStatus,
    StepStatus,
    default_journal,
)
from pipeline.store._registry import ActivityRegistry, default_registry, semver_key

__all__ = [
    "DONE",
    "RUN_ID",
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
    "MemoryBlobStore",
    "NewAttempt",
    "Run",
    "RunLock",
    "RunStatus",
    "StepStatus",
    "default_blobstore",
    "default_journal",
    "default_registry",
    "examine",
    "semver_key",
]
