"""Activities: registering a module (checked against its runtime's ABI), registering the ones Loom ships (on first
use), and running any registered activity with the executor its runtime needs."""

from pipeline.activities._activities import (
    PROVABLE,
    Executors,
    execute_proven_wasm,
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
    "execute_proven_wasm",
    "read_module",
    "register_builtin",
    "register_builtins",
    "register_module",
    "resolve",
    "run_proven_wasm",
    "run_risc0",
    "wasm_guest_input",
]
