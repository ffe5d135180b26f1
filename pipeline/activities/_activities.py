"""Activities by runtime: registering a module (checked against its runtime's ABI), registering the ones Loom ships
(on first use), and running any registered activity with the executor its runtime needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import __version__, errors, zk
from pipeline.core import (
    BUILTINS,
    MIB,
    ActivityDefinition,
    Capabilities,
    HostFunction,
    Limits,
    ProveOptions,
    Runtime,
    SecretProvider,
    artifact,
    default_secrets,
    read_bounded,
    sha256_hex,
)
from pipeline.sandbox import HttpAudit, Log, WasiExecutor, WasmExecutor, check_module, encode_document
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
    output = _proven_step(elf, zk.image_id(elf), document, blobs, defn.limits.fuel, options, progress, cluster)
    blobs.put(zk.encode_input(document))  # what the guest read, kept for a chain of the run's steps
    return output


def _proven_step(
    elf: bytes,
    image_id: str,
    stdin: Any,
    blobs: BlobStore,
    max_cycles: int,
    options: ProveOptions,
    progress: zk.Progress | None,
    cluster: str | None,
    on_plan: Callable[[zk.SegmentPlan], None] | None = None,
) -> dict[str, Any]:
    """What a proven step outputs: its receipt's journal, with the receipt's digest, image ID, kind and cycles
    beside it (the receipt checked first: a step never hands on a receipt this machine would refuse)."""
    proof = zk.prove(
        elf,
        stdin,
        kind=options.kind,
        segment_limit_po2=options.segment_po2,
        progress=progress,
        max_cycles=max_cycles,
        cluster=cluster,
        on_plan=on_plan,
    )
    journal = proof.receipt.verify(image_id)
    return {
        "journal": zk.decode_journal(journal),
        "receipt": zk.store_receipt(proof.receipt, blobs),
        "image_id": image_id,
        "kind": proof.receipt.kind,
        "cycles": proof.execution.total_cycles,
    }


PROVABLE = {Runtime.assemblyscript: zk.WasmAbi.assemblyscript, Runtime.wasm: zk.WasmAbi.rust}
"""The runtimes whose activities can run in the ``wasm-exec`` guest, and the ABI it calls them with."""


def wasm_guest_input(
    defn: ActivityDefinition, document: Any, blobs: BlobStore, secrets: SecretProvider | None = None
) -> tuple[bytes, bytes, bytes]:
    """The module, the input and the ``wasm-exec`` guest's stdin for one call of ``defn``, with its limits and its
    granted secrets' values (which the receipt never reveals). The input is the text a wasmtime call is given
    (``encode_document``), byte for byte, so that the proven output is the one wasmtime gives."""
    abi = PROVABLE.get(defn.runtime)
    if abi is None:
        raise errors.InvalidInput(
            f"{defn.ref} is a {defn.runtime.value} activity: only assemblyscript and wasm activities can be proven "
            f"in {zk.WASM_GUEST} (a risc0 activity is proven as it is)"
        )
    grants = defn.capabilities
    if HostFunction.loom_http in grants.host_functions:
        raise errors.InvalidInput(
            f"{defn.ref} is granted loom_http: a receipt cannot bind what a server answered (the zkVM has no "
            "network); prove a notarized response instead (TLSNotary)"
        )
    module, data = blobs.get(defn.blob), encode_document(document, defn)
    values: dict[str, str | None] = {}
    if HostFunction.loom_get_secret in grants.host_functions:
        provider = secrets or default_secrets()
        values = {name: provider.get(name) for name in grants.secrets}
    stdin = zk.wasm_input(
        module,
        abi,
        data,
        fuel=defn.limits.fuel,
        memory_bytes=defn.limits.memory_mib * MIB,
        output_bytes=defn.limits.output_mib * MIB,
        log=HostFunction.loom_log in grants.host_functions,
        secrets=values,
    )
    return module, data, stdin


@dataclass(frozen=True, slots=True)
class WasmCall:
    """One call of a wasm activity in the ``wasm-exec`` guest, executed (not proven): what a proof of it needs, and
    what it would prove (``run``, ``execution``)."""

    defn: ActivityDefinition
    module: bytes
    data: bytes
    stdin: bytes
    guest: zk.Guest
    run: zk.WasmRun
    execution: zk.Execution

    @property
    def cycle_limit(self) -> int:
        return zk.wasm_cycle_limit(self.defn.limits.fuel, self.module)


def prepare_proven_wasm(
    defn: ActivityDefinition, document: Any, blobs: BlobStore, *, secrets: SecretProvider | None = None
) -> WasmCall:
    """Executes the call in the guest (a fraction of a proof's time), failing as its proof would: a module that
    fails, or whose output Loom would refuse, fails here, before anything is proven."""
    module, data, stdin = wasm_guest_input(defn, document, blobs, secrets)
    guest = zk.load_guest(zk.WASM_GUEST)
    try:
        execution = zk.execute(guest.elf, stdin, max_cycles=zk.wasm_cycle_limit(defn.limits.fuel, module))
    except errors.GuestPanicked as exc:
        raise zk.wasm_failure(exc, defn.ref, defn.limits.fuel) from None
    run = zk.read_wasm_run(execution.journal, defn.ref)
    zk.check_wasm_run(run, module, data)
    return WasmCall(defn, module, data, stdin, guest, run, execution)


def execute_proven_wasm(
    defn: ActivityDefinition, document: Any, blobs: BlobStore, *, secrets: SecretProvider | None = None
) -> tuple[zk.WasmRun, zk.Execution]:
    """What ``run_proven_wasm`` would prove, without proving it: the guest's journal and its cycle counts."""
    call = prepare_proven_wasm(defn, document, blobs, secrets=secrets)
    return call.run, call.execution


def prove_wasm_call(
    call: WasmCall,
    blobs: BlobStore,
    *,
    progress: zk.Progress | None = None,
    options: ProveOptions = ProveOptions(),
    cluster: str | None = None,
    on_plan: Callable[[zk.SegmentPlan], None] | None = None,
) -> dict[str, Any]:
    """Proves a prepared call: the step's output is the receipt's journal (``zk.WasmRun``: the module's digest, the
    input's, and the output wasmtime would give) with the receipt beside it, as for a ``risc0`` step."""
    try:
        output = _proven_step(
            call.guest.elf,
            call.guest.image_id,
            call.stdin,
            blobs,
            call.cycle_limit,
            options,
            progress,
            cluster,
            on_plan,
        )
    except errors.GuestPanicked as exc:
        raise zk.wasm_failure(exc, call.defn.ref, call.defn.limits.fuel) from None
    zk.check_wasm_run(zk.WasmRun.model_validate(output["journal"]), call.module, call.data)
    blobs.put(call.data)  # what the module read (its input_sha256), kept for a chain of the run's steps
    return output


def run_proven_wasm(
    defn: ActivityDefinition,
    document: Any,
    blobs: BlobStore,
    *,
    progress: zk.Progress | None = None,
    options: ProveOptions = ProveOptions(),
    cluster: str | None = None,
    secrets: SecretProvider | None = None,
) -> dict[str, Any]:
    """An ``assemblyscript`` or ``wasm`` activity proven in the ``wasm-exec`` guest (``prepare_proven_wasm``, then
    ``prove_wasm_call``). Fuel is wasmi's; the module's memory limit holds in the guest."""
    call = prepare_proven_wasm(defn, document, blobs, secrets=secrets)
    return prove_wasm_call(call, blobs, progress=progress, options=options, cluster=cluster)


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
        audit: HttpAudit | None = None,
    ) -> Any:
        """Runs one activity on one document with the executor its runtime needs; with ``options``, a wasm or
        AssemblyScript activity is proven in the ``wasm-exec`` guest instead (``run_proven_wasm``). ``audit`` is
        told of each HTTP request an activity granted loom_http makes."""
        if options is not None and defn.runtime in PROVABLE:
            return run_proven_wasm(defn, document, self.blobs, progress=progress, options=options, cluster=self.cluster)
        if defn.runtime in (Runtime.assemblyscript, Runtime.wasm):
            self._wasm = self._wasm or WasmExecutor(self.blobs)
            return self._wasm.run(defn, document, log=log, audit=audit)
        if defn.runtime is Runtime.wasi:
            self._wasm = self._wasm or WasmExecutor(self.blobs)
            return WasiExecutor.beside(self._wasm).run(defn, document, log=log)
        if defn.runtime is Runtime.extism:
            from pipeline.sandbox import ExtismExecutor  # an optional extra: imported only when a plugin runs

            self._extism = self._extism or ExtismExecutor(self.blobs)
            return self._extism.run(defn, document, log=log, audit=audit)
        return run_risc0(
            defn, document, self.blobs, progress=progress, options=options or ProveOptions(), cluster=self.cluster
        )


MAX_MODULE_BYTES = 256 << 20  # a wasm module or a guest ELF; Loom's largest is a few MiB


def read_module(path: Path) -> bytes:
    """The module to register, read within ``MAX_MODULE_BYTES``."""
    return read_bounded(path, MAX_MODULE_BYTES, "module file")
