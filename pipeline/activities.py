"""Running any registered activity, whatever its runtime, and the activities Loom ships (built by ``make``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline import __version__, errors, zk
from pipeline.blobstore import BlobStore
from pipeline.home import build_dir
from pipeline.models import ActivityDefinition, Capabilities, ProveOptions, Runtime
from pipeline.registry import ActivityRegistry, register_module
from pipeline.wasm import WasmExecutor
from pipeline.wasm.host import Log

HMAC_GRANTS = Capabilities(host_functions=("loom_get_secret", "loom_log"), secrets=("hmac_key",))

# name -> (file under build/, runtime, capabilities)
BUILTINS: dict[str, tuple[str, Runtime, Capabilities]] = {
    "counter": ("activities/counter.wasm", Runtime.assemblyscript, Capabilities()),
    "json-pick": ("activities/json_pick.wasm", Runtime.assemblyscript, Capabilities()),
    "http-parse": ("activities/http_parse.wasm", Runtime.assemblyscript, Capabilities()),
    "redact": ("activities/redact.wasm", Runtime.assemblyscript, Capabilities()),
    "echo": ("wasm/echo.wasm", Runtime.wasm, Capabilities()),
    "tlsn-verify": ("wasm/tlsn_verify.wasm", Runtime.wasm, Capabilities()),
    "hmac": ("activities/hmac.wasm", Runtime.assemblyscript, HMAC_GRANTS),
    "hmac-plugin": ("wasm/hmac_plugin.wasm", Runtime.extism, HMAC_GRANTS),
    "hello": ("zkvm/hello.elf", Runtime.risc0, Capabilities()),
    "sha-chain": ("zkvm/sha-chain.elf", Runtime.risc0, Capabilities()),
    "json-claim": ("zkvm/json-claim.elf", Runtime.risc0, Capabilities()),
    "tlsn-claim": ("zkvm/tlsn-claim.elf", Runtime.risc0, Capabilities()),
    "json-canon": ("wasi/json-canon.wasm", Runtime.wasi, Capabilities()),
    "csv-to-json": ("wasi/csv-to-json.wasm", Runtime.wasi, Capabilities()),
}


def register_builtins(blobs: BlobStore, registry: ActivityRegistry) -> list[ActivityDefinition]:
    """Registers every shipped activity as ``<Loom's version>+<module digest>``: idempotent for unchanged modules,
    and a rebuilt module becomes the newest registration instead of clashing with the old one."""
    from pipeline.blobstore import sha256_hex

    registered = []
    for name, (file, runtime, capabilities) in BUILTINS.items():
        path = build_dir() / file
        if not path.is_file():
            raise errors.InvalidInput(f"{path} is missing: run `make setup` to build Loom's activities")
        module = path.read_bytes()
        registered.append(register_module(module, name=name, version=f"{__version__}+{sha256_hex(module)[:12]}",
                                          runtime=runtime, capabilities=capabilities, blobs=blobs, registry=registry))
    return registered


class Executors:
    """One executor per runtime, made on first use and kept (compiled modules stay warm)."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self._wasm: WasmExecutor | None = None
        self._extism: Any = None

    def run(self, defn: ActivityDefinition, document: Any, *, log: Log | None = None,
            progress: zk.Progress | None = None, options: ProveOptions | None = None) -> Any:
        """Runs one activity on one document with the executor its runtime needs."""
        if defn.runtime in (Runtime.assemblyscript, Runtime.wasm):
            self._wasm = self._wasm or WasmExecutor(self.blobs)
            return self._wasm.run(defn, document, log=log)
        if defn.runtime is Runtime.wasi:
            from pipeline.wasm.wasi import WasiExecutor

            self._wasm = self._wasm or WasmExecutor(self.blobs)
            return WasiExecutor.beside(self._wasm).run(defn, document, log=log)
        if defn.runtime is Runtime.extism:
            from pipeline.extism import ExtismExecutor

            self._extism = self._extism or ExtismExecutor(self.blobs)
            return self._extism.run(defn, document, log=log)
        return zk.run_activity(defn, document, self.blobs, progress=progress, options=options or ProveOptions())


def read_module(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise errors.InvalidInput(f"cannot read {path}: {exc.strerror}") from None
