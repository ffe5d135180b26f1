"""A check of the whole data dir, and its repair: what ``loom doctor`` reports.

Every command refuses a damaged part of the data dir when it first touches it (one line naming the file); the
doctor looks at all of it at once, more deeply than a command's open does (SQLite's full ``integrity_check``, every
blob re-hashed), and with ``repair`` moves what is damaged into ``damaged/<time>/`` in the data dir, keeping its
path there: nothing is deleted but the temporary files a crash left, which nothing names. A moved SQLite file is
started anew by the next command; a moved blob is a cache miss, or is put back by ``put`` of the right bytes.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pipeline import errors
from pipeline.core import is_digest, loom_home
from pipeline.store._blobs import TEMPORARY_PREFIX, FileBlobStore
from pipeline.store._journal import RUN_ID, Journal, RunLock
from pipeline.store._registry import ActivityRegistry

_SHARD = re.compile(r"[0-9a-f]{2}")
_LEFT_AFTER_S = 3600  # a temporary file older than this was left by a crash (a live write takes seconds)
_SHOWN = 3  # names listed in one finding


class Health(StrEnum):
    ok = "ok"
    warning = "warning"  # nothing is wrong with what is stored, but something is worth knowing
    damaged = "damaged"  # a command will refuse it (or work around it) until it is repaired
    repaired = "repaired"  # was damaged; moved aside by this check


@dataclass(frozen=True)
class Finding:
    part: str  # "data dir", "journal", "registry", "blobs", "run locks", "activities", "runs"
    health: Health
    detail: str


@dataclass(frozen=True)
class Checkup:
    home: Path
    findings: tuple[Finding, ...]
    aside: Path | None  # where repair moved what was damaged, if it moved anything

    @property
    def damaged(self) -> int:
        return sum(f.health is Health.damaged for f in self.findings)


def examine(home: Path | None = None, *, repair: bool = False) -> Checkup:
    """Checks the data dir (``$LOOM_HOME`` by default); with ``repair``, moves its damaged parts aside."""
    home = home or loom_home()
    if repair and (live := _live_runs(home / "journal.sqlite.locks")):
        raise errors.RunInProgress(
            f"run {live[0]} is live: a repair moves files that it may be writing; let it finish or stop it first"
        )
    doctor = _Doctor(home, repair)
    findings = [
        doctor.database(home / "journal.sqlite", "journal", Journal),
        doctor.database(home / "registry.sqlite", "registry", ActivityRegistry),
        *doctor.blobs(),
        doctor.locks(home / "journal.sqlite.locks"),
    ]
    findings += doctor.references()
    return Checkup(home, tuple(findings), doctor.aside if doctor.moved else None)


class _Doctor:
    def __init__(self, home: Path, repair: bool) -> None:
        self.home, self.repair, self.moved = home, repair, 0
        self.aside = home / "damaged" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.readable: dict[str, bool] = {}  # which databases opened, for the checks of what they name
        self.intact: set[str] = set()  # digests of the blobs that hash to their names

    def move_aside(self, path: Path) -> Path:
        target = self.aside / path.relative_to(self.home)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.rename(path, target)
        self.moved += 1
        return target

    def database(self, path: Path, what: str, opener: Callable[[Path], object]) -> Finding:
        if not os.path.lexists(path):
            self.readable[what] = True
            return Finding(what, Health.ok, "not made yet")
        try:
            opener(path)  # the check every command makes: regular file, header, quick_check, schema version
            problem = _integrity(path)
            if problem is not None:
                problem = f"the {what} {path} is damaged ({problem}): `loom doctor --repair` moves it aside"
        except errors.StoreCorrupted as exc:
            problem = str(exc)
        except errors.StoreUnwritable as exc:
            self.readable[what] = False
            return Finding(what, Health.warning, f"{path} cannot be checked now: {exc}")
        if problem is None:
            self.readable[what] = True
            return Finding(what, Health.ok, f"{path}: {os.path.getsize(path):,} bytes, integrity_check ok")
        self.readable[what] = False
        if not self.repair:
            return Finding(what, Health.damaged, problem)
        for companion in (Path(f"{path}-wal"), Path(f"{path}-shm")):  # they belong to the damaged file
            if os.path.lexists(companion):
                self.move_aside(companion)
        moved = self.move_aside(path)
        self.readable[what] = True
        return Finding(what, Health.repaired, f"damaged: moved to {moved}; the next command starts a new one")

    def blobs(self) -> Iterator[Finding]:
        size, temporary, damaged = 0, [], []
        store = FileBlobStore(self.home / "blobs")
        for entry in _entries(store.root):
            if not (_SHARD.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)):
                damaged.append((Path(entry.path), "not a blob shard"))
                continue
            for blob in _entries(Path(entry.path)):
                if blob.name.startswith(TEMPORARY_PREFIX) and blob.is_file(follow_symlinks=False):
                    if time.time() - blob.stat(follow_symlinks=False).st_mtime > _LEFT_AFTER_S:
                        temporary.append(Path(blob.path))  # younger ones may be another process's write
                    continue
                stored = _blob(store, entry.name + blob.name)
                if isinstance(stored, str):
                    damaged.append((Path(blob.path), stored))
                else:
                    size += stored
                    self.intact.add(entry.name + blob.name)
        yield Finding("blobs", Health.ok, f"{len(self.intact):,} intact ({size:,} bytes), each re-hashed")
        if temporary:
            shown = ", ".join(str(p) for p in temporary[:_SHOWN])
            if self.repair:
                for path in temporary:
                    path.unlink(missing_ok=True)
                yield Finding("blobs", Health.repaired, f"{len(temporary)} temporary file(s) a crash left deleted")
            else:
                yield Finding("blobs", Health.warning, f"{len(temporary)} temporary file(s) a crash left: {shown}")
        if damaged:
            yield self._moved("blobs", damaged, "a command reads it as a cache miss or refuses it")

    def locks(self, directory: Path) -> Finding:
        planted = []
        for entry in _entries(directory):
            if not RUN_ID.fullmatch(entry.name):
                planted.append((Path(entry.path), "not a run ID"))
            elif entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                planted.append((Path(entry.path), "not a regular file"))
        if not planted:
            return Finding("run locks", Health.ok, f"{directory}: every entry is a run's lock file")
        return self._moved("run locks", planted, "resuming that run is refused")

    def references(self) -> list[Finding]:
        """What the journal and the registry name that the blob store no longer has."""
        found = []
        if self.readable.get("registry") and (self.home / "registry.sqlite").exists():
            missing = [
                f"{d.ref} (module {d.blob[:12]})"
                for d in ActivityRegistry(self.home / "registry.sqlite").list()
                if d.blob not in self.intact
            ]
            if missing:
                detail = f"{len(missing)} cannot run, their module is gone: {', '.join(missing[:_SHOWN])}"
                found.append(Finding("activities", Health.damaged, detail + "; register them again"))
            else:
                found.append(Finding("activities", Health.ok, "every registered module is in the blob store"))
        if self.readable.get("journal") and (self.home / "journal.sqlite").exists():
            runs = Journal(self.home / "journal.sqlite").runs(limit=1_000_000)
            lost = [r.run_id for r in runs if r.input_blob not in self.intact]
            if lost:
                shown = ", ".join(lost[:_SHOWN])
                detail = f"{len(lost)} of {len(runs)} cannot be resumed, their input is gone: {shown}"
                found.append(Finding("runs", Health.warning, detail))
            else:
                found.append(Finding("runs", Health.ok, f"{len(runs):,} run(s), each with its input"))
        return found

    def _moved(self, part: str, damaged: list[tuple[Path, str]], otherwise: str) -> Finding:
        shown = "; ".join(f"{p.name[:16]}: {why}" for p, why in damaged[:_SHOWN])
        if not self.repair:
            detail = f"{len(damaged)} damaged ({shown}): {otherwise}; `loom doctor --repair` moves them aside"
            return Finding(part, Health.damaged, detail)
        for path, _ in damaged:
            self.move_aside(path)
        return Finding(part, Health.repaired, f"{len(damaged)} damaged ({shown}): moved to {self.aside}")


def _integrity(path: Path) -> str | None:
    """SQLite's full check (indexes against their tables, every page), which no command pays for on open."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        verdicts = [row[0] for row in db.execute("PRAGMA integrity_check(5)")]
    except sqlite3.DatabaseError as exc:
        return f"integrity_check: {exc}"
    finally:
        db.close()
    return None if verdicts == ["ok"] else "integrity_check: " + "; ".join(verdicts)


def _live_runs(directory: Path) -> list[str]:
    """The runs whose lock a live process holds."""
    names = [e.name for e in _entries(directory) if RUN_ID.fullmatch(e.name) and e.is_file(follow_symlinks=False)]
    return [name for name in names if RunLock(directory, name).held_elsewhere()]


def _blob(store: FileBlobStore, digest: str) -> int | str:
    """The size of an intact blob, or what is wrong with the file under a blob's name (read as ``get`` reads it:
    no symlink, FIFO or device, a size bound, the bytes re-hashed)."""
    if not is_digest(digest):
        return "not a blob's name"
    try:
        return len(store.get(digest))
    except errors.BlobCorrupted as exc:
        return str(exc)


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return sorted(entries, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
