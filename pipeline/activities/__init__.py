"""Activities: registering a module (checked against its runtime's ABI), registering the ones Loom ships (on first
use), and running any registered activity with the executor its runtime needs."""

from pipeline.activities._activities import (
    Executors,
    read_module,
    register_builtin,
    register_builtins,
    register_module,
    resolve,
    run_risc0,
)

__all__ = [
    "Executors",
    "read_module",
    "register_builtin",
    "register_builtins",
    "register_module",
    "resolve",
    "run_risc0",
]
