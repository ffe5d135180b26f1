"""Fixtures for the WASM runtime: a private blob store, registry and executor, and WAT modules with the Rust ABI."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from pipeline.activities import register_module
from pipeline.blobstore import FileBlobStore
from pipeline.models import ActivityDefinition, Capabilities, Limits
from pipeline.registry import ActivityRegistry
from pipeline.wasm import WasmExecutor

# A bump allocator and the Rust ABI around a body that leaves (ptr << 32 | len) of its output on the stack.
RUST_ABI_WAT = """
(module
  {imports}
  (memory (export "memory") {pages})
  (global $next (mut i32) (i32.const 4096))
  (data (i32.const 16) "{data}")
  (func (export "alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $len)))
    (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.const 16)))))
    (local.get $p))
  (func (export "dealloc") (param i32 i32))
  (func $run (export "run") (param $ptr i32) (param $len i32) (result i64)
    {body}))
"""

ECHO_BODY = "(i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len)))"


def rust_abi_module(body: str = ECHO_BODY, imports: str = "", data: str = "", pages: int = 1, extra: str = "") -> bytes:
    wat = RUST_ABI_WAT.format(body=body, imports=imports, data=data, pages=pages)
    return wasmtime.wat2wasm(wat.rstrip()[:-1] + extra + ")")


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


@pytest.fixture
def registry(tmp_path: Path) -> ActivityRegistry:
    return ActivityRegistry(tmp_path / "registry.sqlite")


@pytest.fixture
def executor(blobs: FileBlobStore, tmp_path: Path) -> WasmExecutor:
    return WasmExecutor(blobs, cache_dir=tmp_path / "modules")


@pytest.fixture
def define(blobs: FileBlobStore, registry: ActivityRegistry):
    """Registers a module (bytes or a built file) and returns its definition."""

    def _define(
        module: bytes | Path,
        runtime: str = "wasm",
        *,
        name: str = "subject",
        limits: Limits | None = None,
        capabilities: Capabilities | None = None,
        version: str = "1.0.0",
    ) -> ActivityDefinition:
        data = module.read_bytes() if isinstance(module, Path) else module
        return register_module(
            data,
            name=name,
            version=version,
            runtime=runtime,
            limits=limits,
            capabilities=capabilities,
            blobs=blobs,
            registry=registry,
        )

    return _define
