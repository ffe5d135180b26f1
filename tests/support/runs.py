"""Pipelines and processes as the runner tests use them: a chain of slow steps to kill at any point, the CLI run
in a process group of its own, the checks of a journal and of orphaned processes, and a diamond of steps."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from pipeline.activities import register_module
from pipeline.core import Limits
from pipeline.flow import PipelineSpec
from pipeline.store import DONE, default_blobstore, default_journal, default_registry
from tests.support.wat import ECHO_BODY, rust_abi_module

# spin for about a second, then return the input
SLOW = rust_abi_module(
    f"(local $i i32) (local.set $i (i32.const 2000000000)) "
    f"(loop $l (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $l (local.get $i))) "
    f"{ECHO_BODY}"
)
CHAIN = {
    "name": "chain",
    "steps": {
        "s1": {"activity": "slow", "input": {"x": "${input.x}", "n": 1}},
        "s2": {"activity": "slow", "input": {"prev": "${steps.s1.output}", "n": 2}},
        "side": {"activity": "slow", "input": {"x": "${input.x}", "side": True}},
        "s3": {"activity": "slow", "input": {"prev": "${steps.s2.output.prev}", "n": 3}},
        "s4": {"activity": "slow", "input": {"a": "${steps.s3.output}", "b": "${steps.side.output}"}},
    },
    "output": "${steps.s4.output}",
}


def register_slow(module: bytes = SLOW) -> None:
    """Registers ``module`` as the activity ``slow`` that CHAIN's steps run, with room to spin."""
    register_module(
        module,
        name="slow",
        version="1.0.0",
        runtime="wasm",
        limits=Limits(fuel=10**13, wall_clock_ms=60_000),
        blobs=default_blobstore(),
        registry=default_registry(),
    )


def expected(x: int) -> dict:
    return {"a": {"prev": {"x": x, "n": 1}, "n": 3}, "b": {"x": x, "side": True}}


def loom_run(path, x: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", str(path), "--input", json.dumps({"x": x}), "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def check_journal(run_id: str) -> None:
    """Each step has exactly one finished attempt, numbered attempts are contiguous, nothing after the finish."""
    by_step: dict[str, list] = {}
    for a in default_journal().attempts(run_id):
        by_step.setdefault(a.step, []).append(a)
    assert set(by_step) == set(CHAIN["steps"])
    for step, attempts in by_step.items():
        attempts.sort(key=lambda a: a.attempt)
        assert [a.attempt for a in attempts] == list(range(1, len(attempts) + 1)), step
        assert [a.status in DONE for a in attempts] == [False] * (len(attempts) - 1) + [True], step


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def wait_for_no_orphans(pgid: int, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def spec_of(data: dict) -> PipelineSpec:
    return PipelineSpec.model_validate(data)


# A diamond plus a tail: a -> (b, c) -> d -> e; b and c are independent. spin returns its input; echo wraps it.
DIAMOND = {
    "name": "diamond",
    "steps": {
        "a": {"activity": "spin", "input": {"x": "${input.x}"}},
        "b": {"activity": "spin", "input": {"from_a": "${steps.a.output.x}", "side": "b"}},
        "c": {"activity": "spin", "input": {"from_a": "${steps.a.output.x}", "side": "c"}},
        "d": {"activity": "echo", "input": ["${steps.b.output}", "${steps.c.output}"]},
        "e": {"activity": "spin", "input": {"total": "${steps.d.output.bytes}"}},
    },
    "output": {"d": "${steps.d.output.echo}", "e": "${steps.e.output.total}"},
}
