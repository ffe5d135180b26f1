"""The registry shared by processes: racing registrations of one name@version are atomic (one content wins, the
rest are refused or no-ops), and a corrupted row is reported on one line instead of as a traceback."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pipeline import errors
from pipeline.core import ActivityDefinition
from pipeline.store import ActivityRegistry

SPAWN = multiprocessing.get_context("spawn")
PROCESSES = 6
VERSIONS = 20


def _defn(version: str, blob: str) -> ActivityDefinition:
    return ActivityDefinition(name="race", version=version, runtime="wasm", blob=blob * 64)


def _hammer(db: str, blob: str, start: Any, results: Any) -> None:
    """One process: opens the registry and registers every version as soon as all processes are ready."""
    outcomes: list[tuple[str, str]] = []
    try:
        start.wait(timeout=60)
        registry = ActivityRegistry(Path(db))
        for v in range(VERSIONS):
            try:
                registry.register(_defn(f"1.0.{v}", blob))
                outcomes.append((f"1.0.{v}", "ok"))
            except errors.InvalidInput:
                outcomes.append((f"1.0.{v}", "refused"))
    except Exception as exc:  # any other error is what the test reports
        outcomes.append(("-", f"{type(exc).__name__}: {exc}"))
    results.put((blob, outcomes))


def _race(db: Path, blobs: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Runs one process per blob at once; each process's (blob, [(version, outcome)])."""
    start, results = SPAWN.Barrier(len(blobs)), SPAWN.Queue()
    procs = [SPAWN.Process(target=_hammer, args=(str(db), blob, start, results)) for blob in blobs]
    for p in procs:
        p.start()
    try:
        return [results.get(timeout=120) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)


def test_the_same_definition_from_many_processes_is_registered_once(tmp_path: Path) -> None:
    got = _race(tmp_path / "r.sqlite", ["a"] * PROCESSES)
    assert all(outcomes == [(f"1.0.{v}", "ok") for v in range(VERSIONS)] for _, outcomes in got), got
    registry = ActivityRegistry(tmp_path / "r.sqlite")
    assert registry.list() == [_defn(f"1.0.{v}", "a") for v in range(VERSIONS)]


def test_different_content_racing_for_a_version_exactly_one_wins(tmp_path: Path) -> None:
    blobs = list("abcdef"[:PROCESSES])
    outcomes = dict(_race(tmp_path / "r.sqlite", blobs))
    registry = ActivityRegistry(tmp_path / "r.sqlite")
    for v in range(VERSIONS):
        by_blob = {blob: dict(outcomes[blob]).get(f"1.0.{v}") for blob in blobs}
        assert sorted(by_blob.values(), key=str) == ["ok"] + ["refused"] * (PROCESSES - 1), outcomes
        winner = next(blob for blob, outcome in by_blob.items() if outcome == "ok")
        assert registry.resolve("race", f"1.0.{v}") == _defn(f"1.0.{v}", winner)


@pytest.mark.parametrize(
    "stored",
    [
        "{not json",
        '{"name": "race"}',
        '{"name": "race", "version": "1.0.0", "runtime": "wasm", "blob": "' + "c" * 64 + '", "extra": 1}',
        "[]",
    ],
)
def test_a_corrupted_row_is_one_line_naming_the_file_and_activity(tmp_path: Path, stored: str) -> None:
    db = tmp_path / "r.sqlite"
    registry = ActivityRegistry(db)
    registry.register(_defn("1.0.0", "a"))
    _overwrite(db, stored)
    for call in (registry.list, lambda: registry.resolve("race"), lambda: registry.register(_defn("1.0.0", "a"))):
        with pytest.raises(errors.StoreCorrupted) as caught:
            call()
        message = str(caught.value)
        assert "\n" not in message and str(db) in message and "race@1.0.0" in message, message


def test_a_row_whose_definition_names_another_activity_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    registry = ActivityRegistry(db)
    registry.register(_defn("1.0.0", "a"))
    _overwrite(db, _defn("2.0.0", "a").model_dump_json())
    with pytest.raises(errors.StoreCorrupted, match=r"race@1\.0\.0.*race@2\.0\.0"):
        registry.resolve("race")


def _overwrite(db: Path, definition: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE activities SET definition = ?", (definition,))
    conn.close()
