"""Loom: verifiable computation pipelines.

Untrusted computation runs in WebAssembly sandboxes, notarized HTTPS transcripts are verified (TLSNotary), and
zero-knowledge receipts are generated and checked (RISC Zero) through the native module ``pipeline._native``.

The names below are the public API; each loads its module on first use, so ``import pipeline`` stays cheap (the
native module and wasmtime load only when something needs them). The layers are subpackages, lowest first: ``core``,
``store``, ``sandbox`` and ``zk``, ``tlsn``, ``activities``, ``flow``, ``results``, then ``bench`` and ``cli``; each
names its public surface in its ``__init__`` (``pipeline.zk.prove``, ``pipeline.tlsn.verify_presentation``,
``pipeline.tlsn.decode_claim``...), and its ``_modules`` are private.
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
    from pipeline.core import (
        ActivityDefinition,
        Capabilities,
        Limits,
        ProveOptions,
        ReceiptKind,
        Runtime,
        WasiDir,
    )
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
    from pipeline.flow import (
        PipelineSpec,
        Provenance,
        RetryPolicy,
        Runner,
        RunResult,
        Source,
        StepSpec,
        load_pipeline,
    )
    from pipeline.results import Bundle, BundleReport, verify_bundle
    from pipeline.sandbox import WasmExecutor
    from pipeline.store import ActivityRegistry, BlobStore, default_blobstore, default_registry
    from pipeline.tlsn import (
        BytesClaim,
        ClaimJournal,
        JsonClaim,
        Policy,
        VerifiedPresentation,
        load_presentation,
        verify_presentation,
    )
    from pipeline.zk import Guest, Proof, Receipt, load_guest

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
    "pipeline.core": (
        "ActivityDefinition",
        "Capabilities",
        "Limits",
        "Runtime",
        "ProveOptions",
        "ReceiptKind",
        "WasiDir",
    ),
    "pipeline.store": ("BlobStore", "default_blobstore", "ActivityRegistry", "default_registry"),
    "pipeline.sandbox": ("WasmExecutor",),
    "pipeline.zk": ("Guest", "Proof", "Receipt", "load_guest"),
    "pipeline.tlsn": (
        "Policy",
        "VerifiedPresentation",
        "load_presentation",
        "verify_presentation",
        "JsonClaim",
        "BytesClaim",
        "ClaimJournal",
    ),
    "pipeline.activities": ("register_module", "register_builtins"),
    "pipeline.flow": (
        "PipelineSpec",
        "StepSpec",
        "RetryPolicy",
        "load_pipeline",
        "Runner",
        "RunResult",
        "Provenance",
        "Source",
    ),
    "pipeline.results": ("Bundle", "BundleReport", "verify_bundle"),
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
