"""Activities by runtime: registering a module (checked against its runtime's ABI), registering the ones Loom ships
(on first use), and running any registered activity with the executor its runtime needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline import __version__, errors, zk
from pipeline.core import (
    BUILTINS,
    ActivityDefinition,
    Capabilities,
    Limits,
    ProveOptions,
    Runtime,
    artifact,
    read_bounded,
    sha256_hex,
)
from pipeline.sandbox import Log, WasiExecutor, WasmExecutor, check_module
from pipeline.store import ActivityRegistry, BlobStore, default_blobstore, default_registry


def register_module(
    module: bytes,
    *,
    name: str,
    version: str,
    runtime: Runtime | str,
    limits: Limits | None = None,
    capabilities: Capabilities | None = None,
    blobs: BlobStore | None = None,
    registry: ActivityRegistry | None = None,
) -> ActivityDefinition:
    """Checks that ``module`` fits ``runtime``'s ABI, stores it and registers it, in one call."""
    runtime = Runtime(runtime)
    check_module(module, runtime)
    blobs = blobs or default_blobstore()
    defn = ActivityDefinition(
        name=name,
        version=version,
        runtime=runtime,
        blob=blobs.put(module),
        limits=limits or Limits(),
        capabilities=capabilities or Capabilities(),
    )
    return (registry or default_registry()).register(defn)


def register_builtin(name: str, blobs: BlobStore, registry: ActivityRegistry) -> ActivityDefinition:
    """Registers one shipped activity as ``<Loom's version>+<module digest>``: idempotent for an unchanged module,
    and a rebuilt module becomes the newest registration instead of clashing with the old one."""
    builtin = BUILTINS[name]
    module = artifact(builtin.file).read_bytes()
    return register_module(
        module,
        name=name,
        version=f"{__version__}+{sha256_hex(module)[:12]}",
        runtime=builtin.runtime,
        capabilities=builtin.capabilities,
        blobs=blobs,
        registry=registry,
    )


def register_builtins(blobs: BlobStore, registry: ActivityRegistry) -> list[ActivityDefinition]:
    return [register_builtin(name, blobs, registry) for name in BUILTINS]


def resolve(registry: ActivityRegistry, blobs: BlobStore, ref: str) -> ActivityDefinition:
    """``registry.resolve(ref)``, registering a shipped activity the first time it is asked for by name."""
    try:
        return registry.resolve(ref)
    except errors.ActivityNotFound:
        name = ref.split("@", 1)[0]
        if name not in BUILTINS:
            raise
    register_builtin(name, blobs, registry)
    return registry.resolve(ref)


def run_risc0(
    defn: ActivityDefinition,
    document: Any,
    blobs: BlobStore,
    *,
    progress: zk.Progress | None = None,
    options: ProveOptions = ProveOptions(),
    cluster: str | None = None,
) -> dict[str, Any]:
    """A ``risc0`` activity as a pipeline step: prove the guest stored under ``defn.blob``, keep the receipt.

    Returns the decoded journal with the receipt's digest, image ID and kind, which is what later steps use. The
    activity's ``limits.fuel`` is the guest's cycle limit, so a runaway guest stops before it is proven.
    """
    elf = blobs.get(defn.blob)
    proof = zk.prove(
        elf,
        document,
        kind=options.kind,
        segment_limit_po2=options.segment_po2,
        progress=progress,
        max_cycles=defn.limits.fuel,
        cluster=cluster,
    )
    image_id = zk.image_id(elf)
    proof.receipt.verify(image_id)
    return {
        "journal": zk.decode_journal(proof.receipt.journal),
        "receipt": zk.store_receipt(proof.receipt, blobs),
        "image_id": image_id,
        "kind": proof.receipt.kind,
        "cycles": proof.execution.total_cycles,
    }


class Executors:
    """One executor per runtime, made on first use and kept (compiled modules stay warm). With a ``cluster``
    address, proofs are made on that Ray cluster."""

    def __init__(self, blobs: BlobStore, *, cluster: str | None = None) -> None:
        self.blobs, self.cluster = blobs, cluster
        self._wasm: WasmExecutor | None = None
        self._extism: Any = None

    def run(
        self,
        defn: ActivityDefinition,
        document: Any,
        *,
        log: Log | None = None,
        progress: zk.Progress | None = None,
        options: ProveOptions | None = None,
    ) -> Any:
        """Runs one activity on one document with the executor its runtime needs."""
        if defn.runtime in (Runtime.assemblyscript, Runtime.wasm):
            self._wasm = self._wasm or WasmExecutor(self.blobs)
            return self._wasm.run(defn, document, log=log)
        if defn.runtime is Runtime.wasi:
            self._wasm = self._wasm or WasmExecutor(self.blobs)
            return WasiExecutor.beside(self._wasm).run(defn, document, log=log)
        if defn.runtime is Runtime.extism:
            from pipeline.sandbox import ExtismExecutor  # an optional extra: imported only when a plugin runs

            self._extism = self._extism or ExtismExecutor(self.blobs)
            return self._extism.run(defn, document, log=log)
        return run_risc0(
            defn, document, self.blobs, progress=progress, options=options or ProveOptions(), cluster=self.cluster
        )


MAX_MODULE_BYTES = 256 << 20  # a wasm module or a guest ELF; Loom's largest is a few MiB


def read_module(path: Path) -> bytes:
    """The module to register, read within ``MAX_MODULE_BYTES``."""
    return read_bounded(path, MAX_MODULE_BYTES, "module file")
