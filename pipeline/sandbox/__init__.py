"""The sandboxes untrusted code runs in: WebAssembly on wasmtime (the AssemblyScript and Rust ABIs, actors), WASI
commands, and Extism plugins (an optional extra, loaded when a plugin first runs). Each call is bounded by its
activity's limits: fuel, a wall-clock deadline, one memory cap and an output cap."""

from typing import TYPE_CHECKING, Any

from pipeline.sandbox._abi import check_module
from pipeline.sandbox._engine import Engine, ModuleCache
from pipeline.sandbox._executor import Actor, WasmExecutor, encode_document
from pipeline.sandbox._host import LOG_CALL_BYTES, LOG_LINE_BYTES, Log
from pipeline.sandbox._http import Audit as HttpAudit
from pipeline.sandbox._wasi import WasiExecutor

if TYPE_CHECKING:
    from pipeline.sandbox._extism import ExtismExecutor

__all__ = [
    "LOG_CALL_BYTES",
    "LOG_LINE_BYTES",
    "Actor",
    "Engine",
    "ExtismExecutor",
    "HttpAudit",
    "Log",
    "ModuleCache",
    "WasiExecutor",
    "WasmExecutor",
    "check_module",
    "encode_document",
]


def __getattr__(name: str) -> Any:
    """``ExtismExecutor`` loads the Extism SDK (the ``extism`` extra) only when asked for."""
    if name == "ExtismExecutor":
        from pipeline.sandbox._extism import ExtismExecutor

        return ExtismExecutor
    raise AttributeError(f"module 'pipeline.sandbox' has no attribute {name!r}")
