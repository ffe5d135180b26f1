"""How a JSON document crosses into and out of a module, per runtime.

- AssemblyScript: ``run(input: string): string``. Strings are UTF-16LE objects made with ``__new(size, 2)``
  (class id 2 is String), pinned with ``__pin`` while the host holds them; the byte length is the u32 at ptr - 4.
- Rust (``wasm``): ``alloc(len) -> ptr``, ``dealloc(ptr, len)``, ``run(ptr, len) -> (ptr << 32 | len)`` of a
  UTF-8 JSON buffer that the host frees with ``dealloc`` after reading.

Both also give host functions a way to hand a byte buffer to the guest (``give``), allocated with the module's own
allocator: an AssemblyScript ArrayBuffer (class id 1, pinned; the guest unpins it) or a Rust ``alloc`` buffer.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Protocol

import wasmtime

from pipeline import errors
from pipeline.core import Runtime
from pipeline.sandbox import _fastcall as fastcall
from pipeline.sandbox._engine import WASM_ERRORS, loom_config, reason
from pipeline.sandbox._fastcall import I32, Exports

if TYPE_CHECKING:
    from wasmtime._exportable import AsExtern

AS_STRING, AS_ARRAYBUFFER = 2, 1
WASM_MAGIC = b"\0asm\x01\0\0\0"

REQUIRED_EXPORTS = {
    Runtime.assemblyscript: {"memory", "run", "__new", "__pin", "__unpin"},
    Runtime.wasm: {"memory", "run", "alloc", "dealloc"},
    Runtime.extism: {"run"},
    Runtime.wasi: {"_start", "memory"},
}
WASI_MODULE = "wasi_snapshot_preview1"  # the only imports a 'wasi' module may have


def _wrong_kind(name: str, export: AsExtern | None, kind: str) -> errors.InvalidModule:
    if export is None:
        return errors.InvalidModule(f"the module does not export {name!r}")
    return errors.InvalidModule(f"the module's export {name!r} is a {type(export).__name__}, not {kind}")


def as_func(export: AsExtern | None, name: str) -> wasmtime.Func:
    """``export`` (looked up as ``name``) as a function, or ``InvalidModule`` if the module exports something else."""
    if isinstance(export, wasmtime.Func):
        return export
    raise _wrong_kind(name, export, "a function")


def as_memory(export: AsExtern | None, name: str = "memory") -> wasmtime.Memory:
    """``export`` (looked up as ``name``) as a linear memory, or ``InvalidModule``."""
    if isinstance(export, wasmtime.Memory):
        return export
    raise _wrong_kind(name, export, "a memory")


def as_global(export: AsExtern | None, name: str) -> wasmtime.Global:
    """``export`` (looked up as ``name``) as a global, or ``InvalidModule``."""
    if isinstance(export, wasmtime.Global):
        return export
    raise _wrong_kind(name, export, "a global")


def read_guest(
    store: wasmtime.Store | wasmtime.Caller, ptr: int, size: int, *, what: str, memory: wasmtime.Memory | None = None
) -> bytes:
    """Exactly ``size`` bytes at ``ptr`` of the guest's memory. wasmtime's own ``read`` clamps a range that runs
    past the end (a short read, silently); a buffer outside the memory is the guest's fault: a trap."""
    if memory is None:
        if not isinstance(store, wasmtime.Caller):
            raise TypeError("read_guest needs the memory when it is not called from a host function")
        memory = as_memory(store.get("memory"))
    ptr, size = ptr & 0xFFFFFFFF, size & 0xFFFFFFFF
    end = memory.data_len(store)
    if ptr + size > end:
        raise errors.ActivityTrapped(
            f"{what}: the buffer {ptr:#x}+{size} lies outside the guest's memory ({end} bytes)"
        )
    return bytes(memory.read(store, ptr, ptr + size))


def write_guest(
    store: wasmtime.Store | wasmtime.Caller, memory: wasmtime.Memory, ptr: int, data: bytes, *, what: str
) -> None:
    """Writes ``data`` where the guest's allocator said; a pointer outside its memory is the guest's fault."""
    ptr &= 0xFFFFFFFF
    if ptr + len(data) > memory.data_len(store):
        raise errors.ActivityTrapped(f"{what}: the guest allocated {ptr:#x}+{len(data)}, outside its memory")
    memory.write(store, data, ptr)


def _too_large(size: int, limit: int) -> errors.OutputTooLarge:
    return errors.OutputTooLarge(
        f"the output is {size} bytes; the activity's limit is {limit} bytes (limits.output_mib)"
    )


def _invoke(
    store: wasmtime.Store, exports: Exports, name: str, params: tuple[int, ...], kinds: tuple[int, ...], results: int
) -> int:
    """Calls the export ``name`` as the ABI declares it; a result-less function gives 0."""
    return fastcall.call(store, as_func(exports.get(name), name), name, params, kinds, results) or 0


class Abi(Protocol):
    def call(self, store: wasmtime.Store, exports: Exports, document: bytes, output_limit: int) -> bytes:
        """Passes the UTF-8 JSON ``document`` in and returns the output's UTF-8 bytes, refusing an output over
        ``output_limit`` bytes before reading it."""

    def give(self, caller: wasmtime.Caller, data: bytes) -> int:
        """Copies ``data`` into guest memory; returns ``(ptr << 32) | len``."""


class AssemblyScriptAbi:
    def call(self, store: wasmtime.Store, exports: Exports, document: bytes, output_limit: int) -> bytes:
        text = document.decode("utf-8").encode("utf-16-le")
        memory = as_memory(exports.get("memory"))
        ptr = _invoke(store, exports, "__new", (len(text), AS_STRING), (I32, I32), 1)
        write_guest(store, memory, ptr, text, what="__new")
        _invoke(store, exports, "__pin", (ptr,), (I32,), 1)
        try:
            out = _invoke(store, exports, "run", (ptr,), (I32,), 1)
        finally:
            _invoke(store, exports, "__unpin", (ptr,), (I32,), 0)
        if not out:
            raise errors.InvalidOutput("activity returned a null string")
        size = int.from_bytes(read_guest(store, out - 4, 4, what="run's result", memory=memory), "little")
        if size // 2 > output_limit:  # UTF-16 code units; each becomes at least one UTF-8 byte
            raise _too_large(size // 2, output_limit)
        data = read_guest(store, out, size, what="run's result", memory=memory)
        try:
            utf8 = data.decode("utf-16-le").encode("utf-8")
        except UnicodeError:
            raise errors.InvalidOutput(
                "the activity returned a string that is not valid UTF-16 (a lone surrogate or an odd length)"
            ) from None
        if len(utf8) > output_limit:
            raise _too_large(len(utf8), output_limit)
        return utf8

    def give(self, caller: wasmtime.Caller, data: bytes) -> int:
        ptr: int = as_func(caller.get("__new"), "__new")(caller, len(data), AS_ARRAYBUFFER)
        write_guest(caller, as_memory(caller.get("memory")), ptr, data, what="__new")
        as_func(caller.get("__pin"), "__pin")(caller, ptr)
        return ((ptr & 0xFFFFFFFF) << 32) | len(data)


class RustAbi:
    def call(self, store: wasmtime.Store, exports: Exports, document: bytes, output_limit: int) -> bytes:
        memory = as_memory(exports.get("memory"))
        ptr = _invoke(store, exports, "alloc", (len(document),), (I32,), 1)
        write_guest(store, memory, ptr, document, what="alloc")
        packed = _invoke(store, exports, "run", (ptr, len(document)), (I32, I32), 1)
        out, size = (packed >> 32) & 0xFFFFFFFF, packed & 0xFFFFFFFF
        if size > output_limit:
            raise _too_large(size, output_limit)
        data = read_guest(store, out, size, what="run's result", memory=memory)
        _invoke(store, exports, "dealloc", (out, size), (I32, I32), 0)
        return data

    def give(self, caller: wasmtime.Caller, data: bytes) -> int:
        ptr: int = as_func(caller.get("alloc"), "alloc")(caller, len(data))
        write_guest(caller, as_memory(caller.get("memory")), ptr, data, what="alloc")
        return ((ptr & 0xFFFFFFFF) << 32) | len(data)


ABIS: dict[Runtime, Abi] = {Runtime.assemblyscript: AssemblyScriptAbi(), Runtime.wasm: RustAbi()}


@functools.cache
def _validator() -> wasmtime.Engine:
    """An engine with Loom's wasm features, to refuse at registration what execution would refuse."""
    return wasmtime.Engine(loom_config())


def check_module(data: bytes, runtime: Runtime) -> None:
    """Refuses a module that does not fit ``runtime``: not wasm at all, missing ABI exports, an Extism plugin or a
    WASI program registered under another runtime, or a 'wasi' module that is not a WASI command (a reactor, or
    imports beyond WASI preview 1). Raises ``InvalidModule`` naming the problem."""
    if runtime is Runtime.risc0:
        _check_guest(data)
        return
    module = _parsed(data)
    imports = {f"{i.module}/{i.name}" for i in module.imports}
    exports = {e.name: e.type for e in module.exports}
    _check_runtime_of(imports, runtime)
    if runtime is Runtime.wasi:
        _check_wasi_command(module, imports, exports)
    missing = REQUIRED_EXPORTS.get(runtime, set()) - set(exports)
    if missing:
        hint = {
            Runtime.assemblyscript: " (compile with asc --exportRuntime)",
            Runtime.wasi: " (a WASI command: a wasm32-wasip1 program with a main)",
        }.get(runtime, "")
        raise errors.InvalidModule(f"a '{runtime.value}' module must export {', '.join(sorted(missing))}{hint}")


def _check_guest(data: bytes) -> None:
    from pipeline import _native  # the prover's module, mapped only when a guest is registered

    try:
        _native.image_id(data)
    except errors.InvalidInput as exc:
        raise errors.InvalidModule(f"runtime risc0 needs a RISC Zero guest ELF: {exc}") from None


def _parsed(data: bytes) -> wasmtime.Module:
    if not data.startswith(WASM_MAGIC):
        what = "an ELF binary" if data.startswith(b"\x7fELF") else f"{data[:8]!r}..."
        raise errors.InvalidModule(f"not a WebAssembly module (it starts with {what}, not \\0asm version 1)")
    try:
        return wasmtime.Module(_validator(), data)
    except WASM_ERRORS as exc:
        raise errors.InvalidModule(f"not a valid WebAssembly module: {reason(exc)}") from None


def _check_runtime_of(imports: set[str], runtime: Runtime) -> None:
    """An Extism plugin or a WASI program is refused under another runtime, saying which one it needs."""
    if runtime is not Runtime.extism and any(i.startswith("extism:host/") for i in imports):
        raise errors.InvalidModule(
            f"this module imports Extism host functions (extism:host/...): it is an Extism "
            f"plugin; register it with runtime 'extism', not '{runtime.value}'"
        )
    wasi_imports = sorted(i for i in imports if i.startswith(f"{WASI_MODULE}/"))
    if runtime in (Runtime.assemblyscript, Runtime.wasm) and wasi_imports:
        raise errors.InvalidModule(
            f"this module imports WASI ({wasi_imports[0]}...): register a WASI command "
            f"with runtime 'wasi', not '{runtime.value}'"
        )


def _check_wasi_command(module: wasmtime.Module, imports: set[str], exports: dict[str, Any]) -> None:
    """A WASI command: imports from WASI preview 1 only, and a ``_start`` of no parameters and no results."""
    foreign = sorted(i for i in imports if not i.startswith(f"{WASI_MODULE}/"))
    if foreign:
        raise errors.InvalidModule(
            f"a 'wasi' module may import only from {WASI_MODULE}; this one imports "
            f"{', '.join(foreign[:3])}{'...' if len(foreign) > 3 else ''}"
        )
    if "_start" not in exports and "_initialize" in exports:
        raise errors.InvalidModule(
            "this module is a WASI reactor (it exports _initialize, not _start): a "
            "'wasi' activity must be a WASI command, a program with a main"
        )
    start = exports.get("_start")
    if start is not None and not (isinstance(start, wasmtime.FuncType) and not start.params and not start.results):
        raise errors.InvalidModule("a 'wasi' module's _start must be a function with no parameters and no results")
    linker = wasmtime.Linker(_validator())
    linker.define_wasi()
    try:
        linker.instantiate_pre(module)
    except WASM_ERRORS as exc:
        raise errors.InvalidModule(
            f"a 'wasi' module's imports must be WASI preview 1 functions: {reason(exc)}"
        ) from None
