"""Activities: registering a module (checked against its runtime's ABI), registering the ones Loom ships (on first
use), and running any registered activity with the executor its runtime needs."""

from pipeline.activities._activities import (
    PROVABLE,
    Executors,
    WasmCall,
    execute_proven_wasm,
    prepare_proven_wasm,
    prove_wasm_call,
    read_module,
    register_builtin,
    register_builtins,
    register_module,
    resolve,
    run_proven_wasm,
    run_risc0,
    wasm_guest_input,
)

__all__ = [
    "PROVABLE",
    "Executors",
    "WasmCall",
    "execute_proven_wasm",
    "prepare_proven_wasm",
    "prove_wasm_call",
    "read_module",
    "register_builtin",
    "register_builtins",
    "register_module",
    "resolve",
    "run_proven_wasm",
    "run_risc0",
    "wasm_guest_input",
]
