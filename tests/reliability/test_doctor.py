"""``loom doctor``: a healthy data dir is all ok (exit 0); each kind of damage the commands refuse one at a time is
found at once and named (exit 6), never hung on; ``--repair`` moves it aside and deletes nothing that a run names,
after which the data dir is healthy, the other file's data is still there and runs go on."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.support import loom, one_error_line
from tests.support.damage import PLANTED, output_blob, plant


def _run(pipeline: Path, x: int) -> dict:
    proc = loom("run", str(pipeline), "--input", json.dumps({"x": x}), "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _doctor(*args: str) -> tuple[int, dict]:
    proc = loom("doctor", "--json", *args, timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _health(report: dict) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in report["findings"]:
        found.setdefault(finding["part"], set()).add(finding["health"])
    return found


def test_a_healthy_data_dir_is_all_ok(loom_home: Path, pipeline: Path) -> None:
    _run(pipeline, 1)
    code, report = _doctor()
    assert code == 0 and report["damaged"] == 0 and report["moved_to"] is None
    assert _health(report) == {p: {"ok"} for p in ("journal", "registry", "blobs", "run locks", "activities", "runs")}
    table = loom("doctor")
    assert table.returncode == 0 and "integrity_check ok" in table.stdout and "re-hashed" in table.stdout


@pytest.mark.parametrize("planted", PLANTED)
def test_a_damaged_blob_is_named_and_moved_aside(loom_home: Path, pipeline: Path, planted: str) -> None:
    first = _run(pipeline, 1)
    blob = output_blob(loom_home, first["run_id"])
    original = plant(blob, planted)
    code, report = _doctor()
    assert code == 6 and _health(report)["blobs"] == {"ok", "damaged"}
    assert blob.name[:16] in json.dumps(report)
    assert os.path.lexists(blob)  # only looked at

    code, report = _doctor("--repair")
    assert code == 0 and _health(report)["blobs"] == {"ok", "repaired"}
    aside = Path(report["moved_to"]) / "blobs" / blob.parent.name / blob.name
    assert os.path.lexists(aside) and not os.path.lexists(blob)
    again = _run(pipeline, 1)  # a miss: executed again, and the blob put back
    assert again["executed"] == 1 and again["output"] == first["output"] and blob.read_bytes() == original
    assert _doctor()[0] == 0


def test_a_damaged_journal_is_moved_aside_and_the_registry_kept(loom_home: Path, pipeline: Path) -> None:
    _run(pipeline, 1)
    journal = loom_home / "journal.sqlite"
    data = bytearray(journal.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page * (len(data) // page // 2)] ^= 0xFF  # a page type in the middle
    journal.write_bytes(bytes(data))
    registered = loom("activity", "list", "--json").stdout

    code, report = _doctor()
    assert code == 6 and _health(report)["journal"] == {"damaged"} and _health(report)["registry"] == {"ok"}
    assert "runs" not in _health(report)  # a journal that cannot be read names no runs to check
    summary = loom("doctor")
    assert summary.returncode == 6 and "loom doctor --repair" in one_error_line(summary)

    code, report = _doctor("--repair")
    assert code == 0 and _health(report)["journal"] == {"repaired"}
    assert (Path(report["moved_to"]) / "journal.sqlite").is_file() and not journal.exists()
    assert loom("activity", "list", "--json").stdout == registered
    assert _run(pipeline, 2)["status"] == "succeeded"
    code, report = _doctor()
    assert code == 0 and "1 run(s)" in json.dumps(report)


def test_planted_locks_and_a_crashs_temporary_files(loom_home: Path, pipeline: Path) -> None:
    first = _run(pipeline, 1)["run_id"]
    locks = loom_home / "journal.sqlite.locks"
    (locks / first).unlink(missing_ok=True)
    (locks / first).symlink_to(loom_home.parent / "elsewhere")
    (locks / "not-a-run").mkdir()
    shard = next(p for p in (loom_home / "blobs").iterdir())
    (shard / ".tmp-abc123").write_bytes(b"half a blob")
    os.utime(shard / ".tmp-abc123", (1, 1))  # left long ago (a young one may be a live write, and is left alone)
    (shard / ".tmp-live").write_bytes(b"being written")

    code, report = _doctor()
    assert code == 6 and _health(report)["run locks"] == {"damaged"} and "warning" in _health(report)["blobs"]
    assert "2 damaged" in json.dumps(report) and ".tmp-abc123" in json.dumps(report)

    code, report = _doctor("--repair")
    assert code == 0 and _health(report)["run locks"] == {"repaired"}
    assert not os.path.lexists(locks / first) and not (shard / ".tmp-abc123").exists()
    assert (shard / ".tmp-live").exists()
    assert not (loom_home.parent / "elsewhere").exists()
    assert loom("runs", "show", first).returncode == 0


def test_a_run_whose_input_is_gone_is_a_warning(loom_home: Path, pipeline: Path) -> None:
    first = _run(pipeline, 1)["run_id"]
    with sqlite3.connect(loom_home / "journal.sqlite") as db:
        (digest,) = db.execute("SELECT input_blob FROM runs WHERE run_id = ?", (first,)).fetchone()
    (loom_home / "blobs" / digest[:2] / digest[2:]).unlink()
    code, report = _doctor()
    assert code == 0 and _health(report)["runs"] == {"warning"} and first in json.dumps(report)


def test_no_repair_while_a_run_is_live(loom_home: Path, pipeline: Path) -> None:
    from pipeline.store import RunLock

    first = _run(pipeline, 1)["run_id"]
    lock = RunLock(loom_home / "journal.sqlite.locks", first)
    assert lock.acquire()  # as the process running it holds it
    try:
        proc = loom("doctor", "--repair")
        assert proc.returncode == 2 and f"run {first} is live" in one_error_line(proc)
        assert loom("doctor").returncode == 0  # looking is always allowed
    finally:
        lock.release()
    assert loom("doctor", "--repair").returncode == 0
