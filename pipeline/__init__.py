"""Loom: verifiable computation pipelines.

Untrusted computation runs in WebAssembly sandboxes, notarized HTTPS transcripts are verified (TLSNotary), and
zero-knowledge receipts are generated and checked (RISC Zero) through the native module ``pipeline._native``.

The names below are the public API; each loads its module on first use, so ``import pipeline`` stays cheap (the
native module and wasmtime load only when something needs them). Functions stay in their modules:
``pipeline.zk.prove``, ``pipeline.tlsn.verify_presentation``, ``pipeline.zktls.decode``...
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("loom-verifiable")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

if TYPE_CHECKING:
    from pipeline.activities import register_builtins, register_module
    from pipeline.blobstore import BlobStore, default_blobstore
    from pipeline.bundle import Bundle, BundleReport, verify_bundle
    from pipeline.errors import (
        ActivityExited,
        ActivityNotFound,
        ActivityOutOfFuel,
        ActivityOutOfMemory,
        ActivityRejected,
        ActivityTimeout,
        ActivityTrapped,
        BlobCorrupted,
        BlobNotFound,
        BundleRefused,
        CapabilityDenied,
        ClusterUnavailable,
        ExecutionFailed,
        GuestPanicked,
        ImageIdMismatch,
        InvalidInput,
        InvalidModule,
        InvalidOutput,
        LoomError,
        OutputTooLarge,
        PresentationInvalid,
        ProvingFailed,
        ReceiptInvalid,
        RunInProgress,
    )
    from pipeline.models import (
        ActivityDefinition,
        Capabilities,
        Limits,
        ProveOptions,
        ReceiptKind,
        Runtime,
        WasiDir,
    )
    from pipeline.provenance import Provenance, Source
    from pipeline.registry import ActivityRegistry, default_registry
    from pipeline.runner import Runner, RunResult
    from pipeline.spec import (
        PipelineSpec,
        RetryPolicy,
        StepSpec,
        load_pipeline,
    )
    from pipeline.tlsn import (
        Policy,
        VerifiedPresentation,
        load_presentation,
        verify_presentation,
    )
    from pipeline.wasm import WasmExecutor
    from pipeline.zk import Guest, Proof, Receipt, load_guest
    from pipeline.zktls import BytesClaim, ClaimJournal, JsonClaim

_MODULES: dict[str, tuple[str, ...]] = {
    "pipeline.errors": (
        "LoomError",
        "InvalidInput",
        "RunInProgress",
        "BlobNotFound",
        "BlobCorrupted",
        "ActivityNotFound",
        "InvalidModule",
        "InvalidOutput",
        "OutputTooLarge",
        "ActivityTimeout",
        "ActivityOutOfFuel",
        "ActivityOutOfMemory",
        "ActivityTrapped",
        "ActivityRejected",
        "ActivityExited",
        "CapabilityDenied",
        "ClusterUnavailable",
        "GuestPanicked",
        "ExecutionFailed",
        "ProvingFailed",
        "ReceiptInvalid",
        "ImageIdMismatch",
        "PresentationInvalid",
        "BundleRefused",
    ),
    "pipeline.bundle": ("Bundle", "BundleReport", "verify_bundle"),
    "pipeline.provenance": ("Provenance", "Source"),
    "pipeline.models": (
        "ActivityDefinition",
        "Capabilities",
        "Limits",
        "Runtime",
        "ProveOptions",
        "ReceiptKind",
        "WasiDir",
    ),
    "pipeline.spec": (
        "PipelineSpec",
        "StepSpec",
        "RetryPolicy",
        "load_pipeline",
    ),
    "pipeline.runner": (
        "Runner",
        "RunResult",
    ),
    "pipeline.registry": ("ActivityRegistry", "default_registry"),
    "pipeline.activities": ("register_module", "register_builtins"),
    "pipeline.blobstore": (
        "BlobStore",
        "default_blobstore",
    ),
    "pipeline.wasm": ("WasmExecutor",),
    "pipeline.tlsn": (
        "Policy",
        "VerifiedPresentation",
        "load_presentation",
        "verify_presentation",
    ),
    "pipeline.zktls": (
        "JsonClaim",
        "BytesClaim",
        "ClaimJournal",
    ),
    "pipeline.zk": (
        "Guest",
        "Proof",
        "Receipt",
        "load_guest",
    ),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "ActivityDefinition",
    "ActivityExited",
    "ActivityNotFound",
    "ActivityOutOfFuel",
    "ActivityOutOfMemory",
    "ActivityRegistry",
    "ActivityRejected",
    "ActivityTimeout",
    "ActivityTrapped",
    "BlobCorrupted",
    "BlobNotFound",
    "BlobStore",
    "Bundle",
    "BundleRefused",
    "BundleReport",
    "BytesClaim",
    "Capabilities",
    "CapabilityDenied",
    "ClaimJournal",
    "ClusterUnavailable",
    "ExecutionFailed",
    "Guest",
    "GuestPanicked",
    "ImageIdMismatch",
    "InvalidInput",
    "InvalidModule",
    "InvalidOutput",
    "JsonClaim",
    "Limits",
    "LoomError",
    "OutputTooLarge",
    "PipelineSpec",
    "Policy",
    "PresentationInvalid",
    "Proof",
    "ProveOptions",
    "Provenance",
    "ProvingFailed",
    "Receipt",
    "ReceiptInvalid",
    "ReceiptKind",
    "RetryPolicy",
    "RunInProgress",
    "RunResult",
    "Runner",
    "Runtime",
    "Source",
    "StepSpec",
    "VerifiedPresentation",
    "WasiDir",
    "WasmExecutor",
    "__version__",
    "default_blobstore",
    "default_registry",
    "load_guest",
    "load_pipeline",
    "load_presentation",
    "register_builtins",
    "register_module",
    "verify_bundle",
    "verify_presentation",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
