"""Actors keep one instance alive: state persists across calls, and across a snapshot restored elsewhere."""

from __future__ import annotations

import pytest

from pipeline.sandbox import WasmExecutor
from pipeline.store import FileBlobStore


def test_counter_state_persists_across_calls(executor, define, built) -> None:
    counter = executor.actor(define(built / "activities" / "counter.wasm", "assemblyscript"), "c1")
    assert counter.call({"add": 5}) == {"count": 5}
    assert counter.call({"add": 3}) == {"count": 8}


def test_actors_are_isolated_and_runs_are_stateless(executor, define, built) -> None:
    defn = define(built / "activities" / "counter.wasm", "assemblyscript")
    a, b = executor.actor(defn, "a"), executor.actor(defn, "b")
    a.call({"add": 5})
    assert b.call({"add": 1}) == {"count": 1}
    assert executor.run(defn, {"add": 2}) == {"count": 2}
    assert executor.run(defn, {"add": 2}) == {"count": 2}


def test_snapshot_restores_into_a_fresh_instance_in_another_executor(executor, define, built, tmp_path) -> None:
    defn = define(built / "activities" / "counter.wasm", "assemblyscript")
    counter = executor.actor(defn, "c1")
    counter.call({"add": 5})
    counter.call({"add": 3})
    digest = counter.snapshot()
    counter.call({"add": 100})

    elsewhere = WasmExecutor(FileBlobStore(tmp_path / "blobs"), cache_dir=None)  # same store on disk, new engine
    revived = elsewhere.actor(defn, "c1")
    revived.restore(digest)
    assert revived.call({"add": 1}) == {"count": 9}
    assert counter.call({"add": 1}) == {"count": 109}  # the original actor is untouched


def test_many_calls_keep_allocator_state_consistent(executor, define, built) -> None:
    counter = executor.actor(define(built / "activities" / "counter.wasm", "assemblyscript"), "gc")
    for _ in range(2000):
        counter.call({"add": 1})
    digest = counter.snapshot()
    counter.restore(digest)
    assert counter.call({"add": 1}) == {"count": 2001}


STATE_IMPORTS = (
    '(import "loom" "state_get" (func $state_get (param i32 i32) (result i64)))'
    '(import "loom" "state_set" (func $state_set (param i32 i32 i32 i32)))'
)
# run(input): remember the input under key "last" and return what was remembered before (null at first).
STATE_BODY = """
    (local $prev i64)
    (local.set $prev (call $state_get (i32.const 16) (i32.const 4)))
    (call $state_set (i32.const 16) (i32.const 4) (local.get $ptr) (local.get $len))
    (if (result i64) (i64.lt_s (local.get $prev) (i64.const 0))
      (then (i64.or (i64.shl (i64.const 32) (i64.const 32)) (i64.const 4)))
      (else (local.get $prev)))"""


def test_key_value_state_is_per_actor_and_part_of_snapshots(executor, define) -> None:
    from pipeline import errors
    from pipeline.core import Capabilities
    from tests.support.wat import rust_abi_module

    module = rust_abi_module(STATE_BODY, imports=STATE_IMPORTS, data="last" + "\\00" * 12 + "null")
    defn = define(module, capabilities=Capabilities(host_functions=("loom_state",)))
    memo = executor.actor(defn, "memo")
    assert memo.call({"n": 1}) is None
    assert memo.call({"n": 2}) == {"n": 1}
    digest = memo.snapshot()
    assert executor.actor(defn, "other").call({"n": 9}) is None  # state is per actor
    memo.call({"n": 3})
    memo.restore(digest)
    assert memo.call({"n": 4}) == {"n": 2}
    with pytest.raises(errors.CapabilityDenied, match="loom_state"):
        executor.actor(define(module, name="nostate"), "x").call({})
