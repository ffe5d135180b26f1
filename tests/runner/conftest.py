"""Pipelines over real wasm activities registered in the test's own LOOM_HOME (workers inherit it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.activities import register_module
from pipeline.core import Limits
from pipeline.flow import PipelineSpec, load_pipeline
from pipeline.store import default_blobstore, default_registry
from tests.support.wat import ECHO_BODY, rust_abi_module

# Echo, after spinning for a while (about a quarter second): long enough to overlap, or to be killed mid-step.
SPIN = rust_abi_module(
    f"(local $i i32) (local.set $i (i32.const 60000000)) "
    f"(loop $l (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $l (local.get $i))) "
    f"{ECHO_BODY}"
)
LOOP = rust_abi_module("(loop $l (br $l)) (i64.const 0)")
TRAP = rust_abi_module("unreachable")


@pytest.fixture
def activities(built: Path) -> None:
    blobs, registry = default_blobstore(), default_registry()
    big = Limits(fuel=10**12, wall_clock_ms=60_000)
    for name, module, limits in [
        ("spin", SPIN, big),
        ("forever", LOOP, Limits(wall_clock_ms=50)),
        ("trap", TRAP, Limits()),
    ]:
        register_module(
            module, name=name, version="1.0.0", runtime="wasm", limits=limits, blobs=blobs, registry=registry
        )
    register_module(
        (built / "wasm" / "echo.wasm").read_bytes(),
        name="echo",
        version="1.0.0",
        runtime="wasm",
        blobs=blobs,
        registry=registry,
    )


@pytest.fixture
def pipeline_file(tmp_path: Path):
    def write(spec: dict | str, name: str = "p.yaml") -> Path:
        path = tmp_path / name
        path.write_text(spec if isinstance(spec, str) else yaml.safe_dump(spec, sort_keys=False))
        return path

    return write


def load(path: Path) -> PipelineSpec:
    return load_pipeline(path)
