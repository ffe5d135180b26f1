"""Crash safety: a run killed with SIGKILL at any point resumes to the same result with a consistent journal;
two runs writing to one journal at once lose nothing."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from pipeline.flow import Runner
from pipeline.store import DONE, default_journal
from tests.support import done_attempts
from tests.support.runs import CHAIN, check_journal, expected, loom_run, register_slow


@pytest.fixture
def chain_file(activities, pipeline_file):
    register_slow()
    return pipeline_file(CHAIN)


@pytest.mark.parametrize("finished_before_kill", [0, 1, 3])
def test_sigkill_then_resume(chain_file, finished_before_kill: int) -> None:
    """Kills the runner (and its workers) while a step is running, after 0, 1 or 3 steps have finished."""
    x = 10 + finished_before_kill
    proc = loom_run(chain_file, x)
    journal = default_journal()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = journal.runs()
        attempts = journal.attempts(runs[0].run_id) if runs else []
        if len([a for a in attempts if a.status in DONE]) >= finished_before_kill and any(
            a.status == "running" for a in attempts
        ):
            break
        time.sleep(0.02)
    time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and its workers, as a crash would
    proc.wait()
    (run,) = journal.runs()
    assert run.status == "interrupted", "the kill came after the run finished: nothing was tested"
    before = {step: a.attempt for step, a in done_attempts(journal, run.run_id).items()}
    assert len(before) >= finished_before_kill

    result = Runner().resume(run.run_id)
    assert result.status == "succeeded" and result.output == expected(x)
    assert {step: a.attempt for step, a in done_attempts(journal, run.run_id).items() if step in before} == before
    assert result.executed == len(CHAIN["steps"]) - len(before)  # finished steps were not redone
    check_journal(run.run_id)
    assert journal.run(run.run_id).status == "succeeded"


def test_two_concurrent_runs_share_one_journal(chain_file) -> None:
    procs = [loom_run(chain_file, x, "--no-cache") for x in (101, 102)]
    outputs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert sorted(o["output"]["b"]["x"] for o in outputs) == [101, 102]
    runs = default_journal().runs()
    assert len(runs) == 2 and {r.status for r in runs} == {"succeeded"}
    for run in runs:
        check_journal(run.run_id)
        assert len(default_journal().attempts(run.run_id)) == len(CHAIN["steps"])


def test_sigkill_amid_batches_then_resume(activities, pipeline_file) -> None:
    """Many ready steps go to the workers in batches and are journaled a batch at a time: a kill between (or
    inside) batches still resumes without redoing a step the journal has as done."""
    from tests.support.runs import wait_for_no_orphans

    steps = 24  # "spin" takes about a quarter second; two workers get batches of three
    path = pipeline_file(
        {
            "name": "wide",
            "steps": {f"s{i}": {"activity": "spin", "input": {"i": i, "x": "${input.x}"}} for i in range(steps)},
        }
    )
    proc = loom_run(path, 3)
    journal = default_journal()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = journal.runs()
        attempts = journal.attempts(runs[0].run_id) if runs else []
        if len([a for a in attempts if a.status in DONE]) >= 3:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # the runner alone: its workers must follow it
    proc.wait()
    assert wait_for_no_orphans(proc.pid) == []
    (run,) = journal.runs()
    assert run.status == "interrupted", "the kill came after the run finished: nothing was tested"
    before = {step: a.attempt for step, a in done_attempts(journal, run.run_id).items()}
    assert 3 <= len(before) < steps

    result = Runner().resume(run.run_id)
    assert result.status == "succeeded" and result.executed == steps - len(before)
    assert result.output == {f"s{i}": {"i": i, "x": 3} for i in range(steps)}
    assert {step: a.attempt for step, a in done_attempts(journal, run.run_id).items() if step in before} == before
    for step in (f"s{i}" for i in range(steps)):
        attempts = sorted((a for a in journal.attempts(run.run_id) if a.step == step), key=lambda a: a.attempt)
        assert [a.status in DONE for a in attempts] == [False] * (len(attempts) - 1) + [True], step
