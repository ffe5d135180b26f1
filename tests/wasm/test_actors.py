"""Actors keep one instance alive: state persists across calls, and across a snapshot restored elsewhere."""

from __future__ import annotations

from pipeline.blobstore import FileBlobStore
from pipeline.wasm import WasmExecutor


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
