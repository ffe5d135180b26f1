"""A process that ran wasm before it connected to a cluster must still turn a wasm trap into a clean error: Ray's
C++ core installs crash handlers for SIGILL/SIGSEGV on top of wasmtime's, which turned a hostile module's trap
into a dead driver."""

from __future__ import annotations

import subprocess
import sys

TRAP_AFTER_CONNECT = """
import sys
import wasmtime
from pipeline import zk
engine = wasmtime.Engine()
store = wasmtime.Store(engine)
instance = wasmtime.Instance(store, wasmtime.Module(engine, '(module (func (export "f") unreachable))'), [])
zk.connect_cluster(sys.argv[1])
try:
    instance.exports(store)["f"](store)
except wasmtime.Trap:
    print("trapped")
"""


def test_a_wasm_trap_after_connecting_is_still_a_trap(address: str) -> None:
    ran = subprocess.run(
        [sys.executable, "-c", TRAP_AFTER_CONNECT, address], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip() == "trapped"
