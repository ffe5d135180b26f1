"""The journal's format is a contract: statuses are stored as plain strings, so a journal an older Loom wrote (with
bare string literals) still reads and resumes, and ``--json`` shows the same strings."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

from pipeline.flow import PipelineSpec
from pipeline.flow._runner import Runner, canonical
from pipeline.store import DONE, RunStatus, StepStatus, default_blobstore, default_journal

SPEC = PipelineSpec.model_validate(
    {
        "name": "old",
        "steps": {
            "a": {"activity": "echo@1.0.0", "input": {"x": "${input.x}"}},
            "b": {"activity": "echo@1.0.0", "input": "${steps.a.output}"},
        },
    }
)


def _old_journal_with_an_interrupted_run() -> str:
    """A run as the string-typed runner left it when killed: a done, b running."""
    blobs, journal = default_blobstore(), default_journal()
    forged = blobs.put(canonical({"from": "the old journal"}))  # not what echo gives: a must not run again
    now = time.time()
    db = sqlite3.connect(journal.path)
    with db:
        db.execute(
            "INSERT INTO runs VALUES ('20240101-000000-0a0b0c', 'old', ?, ?, 'running', ?, NULL, NULL, NULL)",
            (SPEC.model_dump_json(), blobs.put(canonical({"x": 1})), now),
        )
        db.execute(
            "INSERT INTO attempts (run_id, step, attempt, status, activity, output_blob, started_at, "
            "finished_at) VALUES ('20240101-000000-0a0b0c', 'a', 1, 'succeeded', 'echo@1.0.0', ?, ?, ?)",
            (forged, now, now),
        )
        db.execute(
            "INSERT INTO attempts (run_id, step, attempt, status, activity, started_at) "
            "VALUES ('20240101-000000-0a0b0c', 'b', 1, 'running', 'echo@1.0.0', ?)",
            (now,),
        )
    db.close()
    return "20240101-000000-0a0b0c"


def test_an_old_journal_reads_and_resumes(activities) -> None:
    run_id = _old_journal_with_an_interrupted_run()
    journal = default_journal()
    run = journal.run(run_id)
    assert run.status is RunStatus.INTERRUPTED and run.status == "interrupted"
    statuses = {a.step: a.status for a in journal.attempts(run_id)}
    assert statuses == {"a": StepStatus.SUCCEEDED, "b": StepStatus.RUNNING} and statuses["a"] in DONE

    result = Runner().resume(run_id)
    assert result.status == "succeeded" and result.executed == 1
    assert result.output["b"] == {"bytes": 27, "echo": {"from": "the old journal"}}
    with sqlite3.connect(journal.path) as db:  # what is stored: plain text, as before
        rows = db.execute(
            "SELECT step, attempt, status, typeof(status) FROM attempts WHERE run_id = ? ORDER BY step, attempt",
            (run_id,),
        ).fetchall()
        assert rows == [("a", 1, "succeeded", "text"), ("b", 1, "interrupted", "text"), ("b", 2, "succeeded", "text")]
        assert db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone() == ("succeeded",)


def test_json_output_shows_statuses_as_plain_strings(activities) -> None:
    run_id = _old_journal_with_an_interrupted_run()
    loom = [sys.executable, "-m", "pipeline"]
    shown = json.loads(
        subprocess.run([*loom, "runs", "show", run_id, "--json"], capture_output=True, text=True, check=True).stdout
    )
    assert shown["run"]["status"] == "interrupted"
    assert [a["status"] for a in shown["attempts"]] == ["succeeded", "running"]
    resumed = json.loads(
        subprocess.run([*loom, "runs", "resume", run_id, "--json"], capture_output=True, text=True, check=True).stdout
    )
    assert resumed["status"] == "succeeded" and (resumed["executed"], resumed["cached"]) == (1, 0)
    listed = json.loads(
        subprocess.run([*loom, "runs", "list", "--json"], capture_output=True, text=True, check=True).stdout
    )
    assert [r["status"] for r in listed] == ["succeeded"]


def test_a_journal_of_schema_1_gains_the_tables_it_lacked(tmp_path) -> None:
    """Version 1 journals were made before http_requests (and logs): opening one adds them, keeping every run."""
    from pipeline.store import Journal

    path = tmp_path / "journal.sqlite"
    db = sqlite3.connect(path)
    with db:
        db.execute(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, spec TEXT NOT NULL, input_blob TEXT "
            "NOT NULL, status TEXT NOT NULL, created_at REAL NOT NULL, finished_at REAL, output_blob TEXT, error TEXT)"
        )
        db.execute("INSERT INTO runs VALUES ('20240101-000000-0a0b0c', 'old', '{}', 'x', 'failed', 1, 2, NULL, 'e')")
        db.execute("PRAGMA user_version = 1")
    db.close()
    path.chmod(0o600)
    journal = Journal(path)
    assert [r.run_id for r in journal.runs()] == ["20240101-000000-0a0b0c"]
    assert journal.http_requests("20240101-000000-0a0b0c") == [] and journal.logs("20240101-000000-0a0b0c") == []
