"""Chaos: kill -9 the runner at random moments, many times, resuming after each kill (and killing some resumes
too). Whatever the timing: no process is orphaned, no run is left "running", and the output is the one an
uninterrupted run gives."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from pipeline.store import default_journal
from tests.support.runs import CHAIN, check_journal, expected, loom_run, register_slow, wait_for_no_orphans
from tests.support.wat import ECHO_BODY, rust_abi_module

# About a tenth of a second per step: a kill lands before, during or after any of them.
QUICK = rust_abi_module(
    f"(local $i i32) (local.set $i (i32.const 200000000)) "
    f"(loop $l (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $l (local.get $i))) "
    f"{ECHO_BODY}"
)
KILLS = 12


def _resume(run_id: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "runs", "resume", run_id, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _kill_at_random(proc: subprocess.Popen, rng: random.Random, within: float) -> bool:
    """SIGKILLs the runner process alone (its workers must follow it) at a random moment; False if it had
    already finished."""
    try:
        proc.wait(timeout=rng.uniform(0.0, within))
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def test_kill_9_at_random_moments_then_resume(activities, pipeline_file) -> None:
    register_slow(QUICK)
    path = pipeline_file(CHAIN)
    rng = random.Random(int(os.environ.get("LOOM_CHAOS_SEED", "1234")))
    journal = default_journal()
    started = time.monotonic()
    uninterrupted = loom_run(path, KILLS, "--no-cache")
    out, err = uninterrupted.communicate(timeout=300)
    assert uninterrupted.returncode == 0, err.decode()
    whole = time.monotonic() - started  # kills land anywhere in a run as long as this one
    assert json.loads(out)["output"] == expected(KILLS)
    kills = 0
    for x in range(KILLS):
        known = {r.run_id for r in journal.runs()}
        proc = loom_run(path, x, "--no-cache")
        killed = _kill_at_random(proc, rng, whole)
        assert wait_for_no_orphans(proc.pid) == [], "a worker outlived its runner"
        kills += killed
        new = [r for r in journal.runs() if r.run_id not in known]
        if not new:  # killed before the run was journaled: nothing to resume, nothing lost
            continue
        (run,) = new
        assert run.status in ("interrupted", "succeeded"), run.status
        if killed and rng.random() < 0.5 and run.status != "succeeded":  # kill a resume too
            resume = _resume(run.run_id)
            kills += _kill_at_random(resume, rng, whole / 2)
            assert wait_for_no_orphans(resume.pid) == []
        resume = _resume(run.run_id)
        out, err = resume.communicate(timeout=120)
        assert resume.returncode == 0, err.decode()
        assert json.loads(out)["output"] == expected(x)
        assert journal.run(run.run_id).status == "succeeded"
        check_journal(run.run_id)
    assert kills >= KILLS // 2, "too few kills landed mid-run to test anything"
    assert not [r for r in journal.runs() if r.status in ("running", "interrupted")]
