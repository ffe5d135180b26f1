"""Damage done to a data dir as a hostile neighbour or a failing disk would do it, for the reliability tests."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

PLANTED = ["other bytes", "fifo", "symlink to /dev/zero"]
"""What can stand under a blob's name: other bytes, a FIFO (a reader would wait), a device (a reader never ends)."""


def output_blob(home: Path, run_id: str, step: str = "a") -> Path:
    """The blob file of a step's output, as the journal names it."""
    with sqlite3.connect(home / "journal.sqlite") as db:
        (digest,) = db.execute(
            "SELECT output_blob FROM attempts WHERE run_id = ? AND step = ?", (run_id, step)
        ).fetchone()
    return home / "blobs" / digest[:2] / digest[2:]


def plant(blob: Path, planted: str) -> bytes:
    """Puts ``planted`` (one of ``PLANTED``) in place of the blob file; returns the bytes it held."""
    original = blob.read_bytes()
    blob.unlink()
    if planted == "fifo":
        os.mkfifo(blob)
    elif planted == "symlink to /dev/zero":
        blob.symlink_to("/dev/zero")
    else:
        blob.write_bytes(original.replace(b"1", b"2"))
    return original
