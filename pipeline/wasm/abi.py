"""How a JSON document crosses into and out of a module, per runtime.

- AssemblyScript: ``run(input: string): string``. Strings are UTF-16LE objects made with ``__new(size, 2)``
  (class id 2 is String), pinned with ``__pin`` while the host holds them; the byte length is the u32 at ptr - 4.
- Rust (``wasm``): ``alloc(len) -> ptr``, ``dealloc(ptr, len)``, ``run(ptr, len) -> (ptr << 32 | len)`` of a
  UTF-8 JSON buffer that the host frees with ``dealloc`` after reading.

Both also give host functions a way to hand a byte buffer to the guest (``give``), allocated with the module's own
allocator: an AssemblyScript ArrayBuffer (class id 1, pinned; the guest unpins it) or a Rust ``alloc`` buffer.
"""

from __future__ import annotations

from typing import Protocol

import wasmtime

from pipeline import errors
from pipeline.models import Runtime

AS_STRING, AS_ARRAYBUFFER = 2, 1
WASM_MAGIC = b"\0asm\x01\0\0\0"

REQUIRED_EXPORTS = {
    Runtime.assemblyscript: {"memory", "run", "__new", "__pin", "__unpin"},
    Runtime.wasm: {"memory", "run", "alloc", "dealloc"},
    Runtime.extism: {"run"},
}


class Abi(Protocol):
    def call(self, store: wasmtime.Store, exports: wasmtime.Instance, document: bytes) -> bytes: ...

    def give(self, caller: wasmtime.Caller, data: bytes) -> int:
        """Copies ``data`` into guest memory; returns ``(ptr << 32) | len``."""


class AssemblyScriptAbi:
    def call(self, store: wasmtime.Store, exports, document: bytes) -> bytes:  # noqa: ANN001
        text = document.decode("utf-8").encode("utf-16-le")
        memory = exports["memory"]
        ptr = exports["__new"](store, len(text), AS_STRING)
        memory.write(store, text, ptr)
        exports["__pin"](store, ptr)
        try:
            out = exports["run"](store, ptr)
        finally:
            exports["__unpin"](store, ptr)
        if not out:
            raise errors.InvalidOutput("activity returned a null string")
        size = int.from_bytes(memory.read(store, out - 4, out), "little")
        return memory.read(store, out, out + size).decode("utf-16-le").encode("utf-8")

    def give(self, caller: wasmtime.Caller, data: bytes) -> int:
        ptr = caller.get("__new")(caller, len(data), AS_ARRAYBUFFER)
        caller.get("memory").write(caller, data, ptr)
        caller.get("__pin")(caller, ptr)
        return (ptr << 32) | len(data)


class RustAbi:
    def call(self, store: wasmtime.Store, exports, document: bytes) -> bytes:  # noqa: ANN001
        memory = exports["memory"]
        ptr = exports["alloc"](store, len(document))
        memory.write(store, document, ptr)
        packed = exports["run"](store, ptr, len(document))
        out, size = (packed >> 32) & 0xFFFFFFFF, packed & 0xFFFFFFFF
        data = memory.read(store, out, out + size)
        exports["dealloc"](store, out, size)
        return data

    def give(self, caller: wasmtime.Caller, data: bytes) -> int:
        ptr = caller.get("alloc")(caller, len(data))
        caller.get("memory").write(caller, data, ptr)
        return (ptr << 32) | len(data)


ABIS: dict[Runtime, Abi] = {Runtime.assemblyscript: AssemblyScriptAbi(), Runtime.wasm: RustAbi()}


def check_module(data: bytes, runtime: Runtime) -> None:
    """Refuses a module that does not fit ``runtime``: not wasm at all, missing ABI exports, or an Extism plugin
    registered under another runtime. Raises ``InvalidModule`` naming the problem."""
    if runtime is Runtime.risc0:
        from pipeline import _native

        try:
            _native.image_id(data)
        except errors.InvalidInput as exc:
            raise errors.InvalidModule(f"runtime risc0 needs a RISC Zero guest ELF: {exc}") from None
        return
    if not data.startswith(WASM_MAGIC):
        what = "an ELF binary" if data.startswith(b"\x7fELF") else f"{data[:8]!r}..."
        raise errors.InvalidModule(f"not a WebAssembly module (it starts with {what}, not \\0asm version 1)")
    try:
        module = wasmtime.Module(wasmtime.Engine(), data)
    except wasmtime.WasmtimeError as exc:
        raise errors.InvalidModule(f"not a valid WebAssembly module: {str(exc).splitlines()[0]}") from None
    imports = {f"{i.module}/{i.name}" for i in module.imports}
    if runtime is not Runtime.extism and any(i.startswith("extism:host/") for i in imports):
        raise errors.InvalidModule(f"this module imports Extism host functions (extism:host/...): it is an Extism "
                                   f"plugin; register it with runtime 'extism', not '{runtime.value}'")
    missing = REQUIRED_EXPORTS.get(runtime, set()) - {e.name for e in module.exports}
    if missing:
        hint = " (compile with asc --exportRuntime)" if runtime is Runtime.assemblyscript else ""
        raise errors.InvalidModule(f"a '{runtime.value}' module must export {', '.join(sorted(missing))}{hint}")
