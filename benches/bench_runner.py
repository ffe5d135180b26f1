"""Runner overhead per step (1,000 trivial steps, journaled, on worker processes) vs calling the executor directly
in a loop, and the latency of a fully cached run; one run, side by side."""

from __future__ import annotations

import os

import pytest

from pipeline.activities import register_module
from pipeline.core import artifact
from pipeline.flow import PipelineSpec, Runner
from pipeline.sandbox import WasmExecutor
from pipeline.store import default_blobstore, default_registry

STEPS = 300 if os.environ.get("LOOM_BENCH_QUICK") else 1000


@pytest.fixture(scope="module")
def echo(tmp_path_factory):
    os.environ["LOOM_HOME"] = str(tmp_path_factory.mktemp("loom-home"))
    return register_module(
        artifact("wasm/echo.wasm").read_bytes(),
        name="echo",
        version="1.0.0",
        runtime="wasm",
        blobs=default_blobstore(),
        registry=default_registry(),
    )


SPEC = PipelineSpec.model_validate(
    {
        "name": "wide",
        "steps": {f"s{i}": {"activity": "echo", "input": {"i": i, "x": "${input.x}"}} for i in range(STEPS)},
    }
)


@pytest.mark.benchmark(group="runner steps")
def test_direct_executor_loop(benchmark, echo) -> None:
    executor = WasmExecutor(default_blobstore())

    def loop() -> None:
        for i in range(STEPS):
            executor.run(echo, {"i": i, "x": 1})

    benchmark.pedantic(loop, rounds=3, iterations=1)


@pytest.mark.benchmark(group="runner steps")
def test_runner_uncached(benchmark, echo) -> None:
    runner = Runner(workers=2)
    result = benchmark.pedantic(lambda: runner.run(SPEC, {"x": 1}, no_cache=True), rounds=3, iterations=1)
    assert result.status == "succeeded" and result.executed == STEPS


@pytest.mark.benchmark(group="runner steps")
def test_runner_all_cached(benchmark, echo) -> None:
    runner = Runner(workers=2)
    runner.run(SPEC, {"x": 2})
    result = benchmark.pedantic(lambda: runner.run(SPEC, {"x": 2}), rounds=3, iterations=1)
    assert result.cached == STEPS and result.executed == 0
