"""WebAssembly activities on wasmtime: engine and module cache, ABIs, host functions, executor and actors."""

from pipeline.wasm.executor import Actor, WasmExecutor

__all__ = ["Actor", "WasmExecutor"]
