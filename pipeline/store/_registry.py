"""The activity registry: versioned definitions by name, persisted in SQLite in the data dir.

Like a package index: a name@version is immutable once registered, and resolving a name without a version gives
the highest semver release.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from pipeline import errors
from pipeline.core import ActivityDefinition, loom_home, validation_problem
from pipeline.store._sqlite import Database

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS activities (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    definition TEXT NOT NULL,
    registered_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (name, version)
)
"""


def semver_key(version: str) -> tuple[int, int, int, bool, tuple[tuple[int, int] | tuple[int, str], ...]]:
    """Orders versions as semver does: numerically, and a pre-release before its release."""
    core, _, pre = version.split("+")[0].partition("-")
    major, minor, patch = (int(p) for p in core.split("."))
    pre_key = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")) if pre else ()
    return (major, minor, patch, not pre, pre_key)


class ActivityRegistry:
    """Definitions by (name, version) in one SQLite file; safe to share between processes."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self.db = Database(
            self.db_path, "registry", _SCHEMA, SCHEMA_VERSION, "the journal and the blobs are kept; register again"
        )
        self.db.prepare()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction (committed when the block ends), SQLite's failures as Loom's."""
        db = self.db.connect(timeout=30, isolation_level="DEFERRED")
        try:
            with self.db.failures(), db:
                yield db
        finally:
            db.close()

    def register(self, defn: ActivityDefinition) -> ActivityDefinition:
        """Adds a definition; registering the same one again is a no-op, changing a published version is refused.
        Insert-or-ignore then re-read, in one transaction, so processes racing for a version cannot both insert."""
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO activities (name, version, definition) VALUES (?, ?, ?)",
                (defn.name, defn.version, defn.model_dump_json()),
            )
            row = db.execute(
                "SELECT name, version, definition FROM activities WHERE name = ? AND version = ?",
                (defn.name, defn.version),
            ).fetchone()
        if self._parse(row) != defn:
            raise errors.InvalidInput(
                f"{defn.ref} is already registered with different content; publish a new version instead"
            )
        return defn

    def resolve(self, name: str, version: str | None = None) -> ActivityDefinition:
        """``name`` at ``version``, or its highest version (build metadata does not order: among equals the latest
        registered wins); ``name@version`` is accepted too."""
        if version is None and "@" in name:
            name, version = name.split("@", 1)
        candidates = [d for d in self.list() if d.name == name and (version is None or d.version == version)]
        if not candidates:
            known = sorted({d.ref for d in self.list() if d.name == name})
            hint = f" (registered: {', '.join(known)})" if known else ""
            raise errors.ActivityNotFound(f"no activity {name}{'@' + version if version else ''}{hint}")
        return max(reversed(candidates), key=lambda d: semver_key(d.version))  # ties: the latest registered

    def list(self) -> list[ActivityDefinition]:
        with self._connect() as db:
            rows = db.execute("SELECT name, version, definition FROM activities ORDER BY name, rowid").fetchall()
        defs = [self._parse(row) for row in rows]
        return sorted(defs, key=lambda d: (d.name, semver_key(d.version)))

    def _parse(self, row: tuple[str, str, str]) -> ActivityDefinition:
        """A stored definition; a row corrupted or edited by hand is named, not shown as a pydantic traceback."""
        name, version, text = row
        try:
            defn = ActivityDefinition.model_validate_json(text)
        except ValidationError as exc:
            raise errors.StoreCorrupted(
                f"{self.db_path}: {name}@{version}: stored definition is invalid "
                f"({validation_problem(exc)}); remove the row or restore the registry"
            ) from None
        if defn.ref != f"{name}@{version}":
            raise errors.StoreCorrupted(f"{self.db_path}: {name}@{version}: stored definition is for {defn.ref}")
        return defn


def default_registry() -> ActivityRegistry:
    """The registry in the data dir (``$LOOM_HOME/registry.sqlite``)."""
    return ActivityRegistry(loom_home() / "registry.sqlite")
