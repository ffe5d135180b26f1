"""Per-call cost of the Extism executor vs the wasmtime executor on the same transform (HMAC-SHA256 of the input
under a granted secret, with one log line): rust-guests/wasm/hmac-plugin vs activities/assembly/hmac.ts."""

from __future__ import annotations

import os

import pytest

from pipeline.activities import register_builtins
from pipeline.sandbox import ExtismExecutor, WasmExecutor
from pipeline.store import ActivityRegistry, MemoryBlobStore

DOC = {"order": 42, "items": [f"item-{i}" for i in range(50)]}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    os.environ["LOOM_SECRET_hmac_key"] = "bench-key"
    blobs = MemoryBlobStore()
    registry = ActivityRegistry(tmp_path_factory.mktemp("reg") / "r.sqlite")
    register_builtins(blobs, registry)
    return blobs, registry


@pytest.mark.benchmark(group="hmac call")
def test_call_extism_plugin(benchmark, setup) -> None:
    blobs, registry = setup
    executor, defn = ExtismExecutor(blobs), registry.resolve("hmac-plugin")
    executor.run(defn, DOC)
    benchmark(executor.run, defn, DOC, log=lambda *_: None)


@pytest.mark.benchmark(group="hmac call")
def test_call_wasmtime_assemblyscript(benchmark, setup) -> None:
    blobs, registry = setup
    executor, defn = WasmExecutor(blobs, cache_dir=None), registry.resolve("hmac")
    expected = ExtismExecutor(blobs).run(registry.resolve("hmac-plugin"), DOC)
    assert executor.run(defn, DOC, log=lambda *_: None) == expected
    benchmark(executor.run, defn, DOC, log=lambda *_: None)
