"""Fixtures for the WASM runtime: a private blob store, registry and executor, and WAT modules with the Rust ABI."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.activities import register_module
from pipeline.core import ActivityDefinition, Capabilities, Limits
from pipeline.sandbox import WasmExecutor
from pipeline.store import ActivityRegistry, FileBlobStore


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
