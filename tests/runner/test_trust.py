"""The runner as an attacker or a crash would try it: secrets and grants in the cache key, pinned activity
versions, live runs, orphaned workers, failures that must not leave a run "running"."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import sys
import time

import pytest

from pipeline import errors, zk
from pipeline.activities import register_module
from pipeline.core import Capabilities, Limits
from pipeline.flow import Runner
from pipeline.store import default_blobstore, default_journal, default_registry
from tests.support.runs import SLOW, loom_run, wait_for_no_orphans
from tests.support.wat import GET_SECRET, SECRET_BODY, rust_abi_module

SECRET_READER = rust_abi_module(SECRET_BODY, imports=GET_SECRET, data="api_token")
READS_SECRET = Capabilities(host_functions=("loom_get_secret",), secrets=("api_token",))


def _register(module: bytes, name: str, version: str = "1.0.0", **kwargs) -> None:
    register_module(
        module,
        name=name,
        version=version,
        runtime="wasm",
        blobs=default_blobstore(),
        registry=default_registry(),
        **kwargs,
    )


def _one_step(activity: str, **extra) -> object:
    from pipeline.flow import PipelineSpec

    return PipelineSpec.model_validate({"name": "one", "steps": {"s": {"activity": activity, "input": {}, **extra}}})


def test_an_ungranted_activity_never_gets_a_granted_ones_output_from_the_cache(monkeypatch) -> None:
    monkeypatch.setenv("LOOM_SECRET_api_token", '{"token": "abc"}')
    _register(SECRET_READER, "granted", capabilities=READS_SECRET)
    _register(SECRET_READER, "ungranted")  # the same module, the same input: only the grants differ
    assert Runner().run(_one_step("granted"), {}).output == {"s": {"token": "abc"}}
    result = Runner().run(_one_step("ungranted"), {})
    assert result.status == "failed" and "CapabilityDenied" in result.error and result.cached == 0


def test_a_rotated_secret_is_not_served_from_the_cache(monkeypatch) -> None:
    _register(SECRET_READER, "granted", capabilities=READS_SECRET)
    monkeypatch.setenv("LOOM_SECRET_api_token", '{"token": "old"}')
    assert Runner().run(_one_step("granted"), {}).output == {"s": {"token": "old"}}
    monkeypatch.setenv("LOOM_SECRET_api_token", '{"token": "new"}')
    result = Runner().run(_one_step("granted"), {})
    assert result.output == {"s": {"token": "new"}} and result.executed == 1
    assert Runner().run(_one_step("granted"), {}).cached == 1  # unchanged secret: cached again
    monkeypatch.delenv("LOOM_SECRET_api_token")
    assert Runner().run(_one_step("granted"), {}).cached == 0  # a removed secret is a change too


def test_a_runner_kept_between_runs_gives_its_workers_a_rotated_secret(monkeypatch) -> None:
    """A runner keeps its worker processes between runs; workers read secrets from the environment they were
    spawned with, so a changed environment must get new workers (or a new key would cache an old secret's output)."""
    _register(SECRET_READER, "granted", capabilities=READS_SECRET)
    runner = Runner()
    monkeypatch.setenv("LOOM_SECRET_api_token", '{"token": "old"}')
    assert runner.run(_one_step("granted"), {}).output == {"s": {"token": "old"}}
    monkeypatch.setenv("LOOM_SECRET_api_token", '{"token": "new"}')
    result = runner.run(_one_step("granted"), {})
    assert result.output == {"s": {"token": "new"}} and result.executed == 1
    assert runner.run(_one_step("granted"), {}).cached == 1


def test_a_runner_used_from_threads_that_end_loses_no_attempt(activities) -> None:
    """Workers die with the thread that spawned them (the parent-death signal follows the thread): a runner must
    not hand a later run the pool of a thread that has ended (its steps would fail as dead workers, and retry)."""
    import threading

    runner, spec = Runner(), _one_step("echo")
    for i in range(10):  # the loss is a race: a few rounds catch it
        thread = threading.Thread(target=runner.run, args=(spec, {"i": i}), kwargs={"no_cache": True})
        thread.start()
        thread.join()
        result = runner.run(spec, {"i": i}, no_cache=True)
        assert result.status == "succeeded" and len(default_journal().attempts(result.run_id)) == 1


def test_the_journal_never_holds_a_secret_value(monkeypatch) -> None:
    monkeypatch.setenv("LOOM_SECRET_api_token", '"hunter2-secret"')
    _register(SECRET_READER, "granted", capabilities=READS_SECRET)
    Runner().run(_one_step("granted"), {})
    assert b"hunter2" not in default_journal().path.read_bytes()


def test_no_cache_replaces_the_cached_entry(activities) -> None:
    spec = _one_step("echo")
    first = Runner().run(spec, {})
    (attempt,) = default_journal().attempts(first.run_id)
    bogus = default_blobstore().put(b'{"forged": true}')
    with default_journal()._tx() as db:  # an entry that is wrong (as after a bug or tampering)
        db.execute("UPDATE cache SET output_blob = ? WHERE cache_key = ?", (bogus, attempt.cache_key))
    assert Runner().run(spec, {}).output == {"s": {"forged": True}}
    Runner().run(spec, {}, no_cache=True)
    assert Runner().run(spec, {}).output == first.output


def test_resume_uses_the_versions_resolved_when_the_run_started() -> None:
    _register(rust_abi_module("unreachable"), "tool", "1.0.0")
    spec = _one_step("tool")
    failed = Runner().run(spec, {})
    assert failed.status == "failed"
    assert json.loads(default_journal().run(failed.run_id).spec)["steps"]["s"]["activity"] == "tool@1.0.0"
    _register(rust_abi_module(), "tool", "2.0.0")  # a newer version that would succeed
    resumed = Runner().resume(failed.run_id)
    assert resumed.status == "failed" and "unreachable" in resumed.error  # still 1.0.0
    assert Runner().run(spec, {}).status == "succeeded"  # a new run takes the newest


def test_a_step_cannot_raise_its_activitys_limits(activities) -> None:
    spec = _one_step("echo", limits={"fuel": 10**14, "wall_clock_ms": 10})
    with pytest.raises(errors.InvalidInput, match="may only lower"):
        Runner().run(spec, {})
    assert default_journal().runs() == []
    lower = _one_step("echo", limits={"fuel": 1000, "wall_clock_ms": 10, "memory_mib": 16})
    assert Runner().run(lower, {}).status in ("succeeded", "failed")  # accepted: it may run out of fuel


def test_an_output_reference_to_a_missing_input_field_fails_before_any_step(activities) -> None:
    from pipeline.flow import PipelineSpec

    spec = PipelineSpec.model_validate(
        {"name": "p", "steps": {"s": {"activity": "echo", "input": {}}}, "output": "${input.absent}"}
    )
    with pytest.raises(errors.InvalidInput, match="absent"):
        Runner().run(spec, {})
    assert default_journal().runs() == []


def test_an_unexpected_exception_leaves_the_run_failed_not_running(activities) -> None:
    def broken(step: str, event: str, details: dict) -> None:
        raise RuntimeError("a bug in the caller's event handler")

    with pytest.raises(RuntimeError):
        Runner().run(_one_step("echo"), {}, events=broken)
    (run,) = default_journal().runs()
    assert run.status == "failed" and "RuntimeError" in run.error


def test_fuel_exhaustion_in_a_pipeline_is_not_retried() -> None:
    _register(rust_abi_module("(loop $l (br $l)) (i64.const 0)"), "burn", limits=Limits(fuel=100_000))
    result = Runner().run(_one_step("burn"), {})
    assert result.status == "failed" and "ActivityOutOfFuel" in result.error
    assert len(default_journal().attempts(result.run_id)) == 1


@pytest.fixture
def slow(activities) -> None:
    _register(SLOW, "slow", limits=Limits(fuel=10**13, wall_clock_ms=60_000))


def _wait_for_running_attempt(timeout: float = 60) -> str:
    journal = default_journal()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = journal.runs()
        if runs and any(a.status == "running" for a in journal.attempts(runs[0].run_id)):
            return runs[0].run_id
        time.sleep(0.02)
    raise AssertionError("no step started")


def test_kill_9_of_the_runner_leaves_no_worker_and_resume_refuses_a_live_run(slow, pipeline_file) -> None:
    from tests.support.runs import CHAIN, expected

    path = pipeline_file(CHAIN)
    proc = loom_run(path, 5)
    run_id = _wait_for_running_attempt()
    with pytest.raises(errors.RunInProgress, match="still running"):
        Runner().resume(run_id)
    assert default_journal().run(run_id).status == "running"
    os.kill(proc.pid, signal.SIGKILL)  # the runner alone: its workers must follow it
    proc.wait()
    assert wait_for_no_orphans(proc.pid) == []
    assert default_journal().run(run_id).status == "interrupted"
    result = Runner().resume(run_id)
    assert result.status == "succeeded" and result.output == expected(5)
    assert not [a for a in default_journal().attempts(run_id) if a.status == "running"]
    assert "interrupted" in {a.status for a in default_journal().attempts(run_id)}


def test_the_journal_says_interrupted_only_when_the_process_is_gone(activities) -> None:
    result = Runner().run(_one_step("echo"), {})
    journal = default_journal()
    with journal._tx() as db:
        db.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", (result.run_id,))
    assert journal.run(result.run_id).status == "interrupted"
    lock = journal.lock(result.run_id)
    assert lock.acquire()
    try:
        script = f"from pipeline.store import default_journal; print(default_journal().run({result.run_id!r}).status)"
        import subprocess

        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
        assert out.strip() == "running"
    finally:
        lock.release()


def test_the_journaled_cache_key_covers_the_steps_lowered_limits(activities) -> None:
    """The runner works a step's plan out once per run: its key is that of the activity with the step's limits."""
    from pipeline.core import canonical
    from pipeline.flow._runner import StepPlan, secrets_digest

    runner = Runner()
    result = runner.run(_one_step("echo", limits={"fuel": 10**6}), {})
    (attempt,) = default_journal().attempts(result.run_id)
    defn = default_registry().resolve("echo@1.0.0")
    secrets = secrets_digest((), runner.secrets, runner._secrets_key)
    digest = hashlib.sha256(canonical({})).hexdigest()
    lowered = StepPlan.of(defn.model_copy(update={"limits": Limits(fuel=10**6)})).key(digest, secrets)
    assert attempt.cache_key == lowered != StepPlan.of(defn).key(digest, secrets)


def test_prove_applies_to_steps_the_zkvm_can_run_and_keys_the_cache(activities) -> None:
    from pipeline.core import ActivityDefinition, ProveOptions
    from pipeline.flow._runner import StepPlan

    for unprovable in ("json-canon", "hmac-plugin"):  # a WASI command, an Extism plugin
        with pytest.raises(errors.InvalidInput, match="prove applies to risc0, assemblyscript and wasm activities"):
            Runner().run(_one_step(unprovable, prove={"kind": "succinct"}), {})
    with pytest.raises(ValueError):
        ProveOptions(segment_po2=99)
    defn = ActivityDefinition(name="g", version="1.0.0", runtime="risc0", blob="0" * 64)
    keys = {
        StepPlan.of(defn, options).key("0" * 64, "s")
        for options in (
            None,
            ProveOptions(kind="composite"),
            ProveOptions(kind="succinct"),
            ProveOptions(segment_po2=16),
        )
    }
    assert len(keys) == 4
    wasm = ActivityDefinition(name="w", version="1.0.0", runtime="wasm", blob="0" * 64)
    proven = StepPlan.of(wasm, ProveOptions())
    assert proven.prover == zk.load_guest(zk.WASM_GUEST).image_id and StepPlan.of(wasm).prover == ""
    # another Loom's wasm-exec proves the same module under another image ID: not the same cached receipt
    other_guest = dataclasses.replace(proven, prover="1" * 64)
    assert len({p.key("0" * 64, "s") for p in (StepPlan.of(wasm), proven, other_guest)}) == 3
