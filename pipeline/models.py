"""The typed contracts shared by the registry, the executors and the runner."""

from __future__ import annotations

import re
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Runtime(str, Enum):
    """How an activity's blob is executed."""

    assemblyscript = "assemblyscript"  # AssemblyScript module, string in / string out (UTF-16 objects)
    wasm = "wasm"  # Rust-style module: alloc/dealloc/run(ptr, len) -> (ptr << 32 | len)
    extism = "extism"  # Extism plugin
    risc0 = "risc0"  # RISC Zero guest ELF, proved by pipeline._native


class Limits(BaseModel):
    """Hard bounds on one call: untrusted code can exhaust no more than these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fuel: int = Field(default=1_000_000_000, gt=0, description="wasm instructions (roughly) per call")
    wall_clock_ms: int = Field(default=10_000, gt=0, description="deadline per call, enforced by epochs")
    memory_mib: int = Field(default=256, gt=0, le=4096, description="largest linear memory per instance")


class Capabilities(BaseModel):
    """What the host grants an activity; everything else is denied."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host_functions: tuple[str, ...] = Field(default=(), description="e.g. loom_log, loom_get_secret, loom_state")
    secrets: tuple[str, ...] = Field(default=(), description="names readable through loom_get_secret")


class ActivityDefinition(BaseModel):
    """A versioned activity: which blob runs, how, and within which limits and grants."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    runtime: Runtime
    blob: str = Field(description="sha256 of the module (or ELF) in the blob store")
    limits: Limits = Limits()
    capabilities: Capabilities = Capabilities()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("name must be lowercase letters, digits, '-' or '_', starting with a letter")
        return v

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        if not _SEMVER.match(v):
            raise ValueError(f"version {v!r} is not semver (MAJOR.MINOR.PATCH)")
        return v

    @field_validator("blob")
    @classmethod
    def _blob(cls, v: str) -> str:
        if not _SHA256.match(v):
            raise ValueError("blob must be a lowercase hex sha256 digest")
        return v

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"
