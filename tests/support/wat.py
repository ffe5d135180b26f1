"""WebAssembly modules for tests, written as WAT: the Rust ABI (alloc/dealloc/run) around any body, and the
host-function imports and bodies tests use to reach a host function."""

from __future__ import annotations

import wasmtime

# A bump allocator and the Rust ABI around a body that leaves (ptr << 32 | len) of its output on the stack.
RUST_ABI_WAT = """
(module
  {imports}
  (memory (export "memory") {pages})
  (global $next (mut i32) (i32.const 4096))
  (data (i32.const 16) "{data}")
  (func (export "alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $len)))
    (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.const 16)))))
    (local.get $p))
  (func (export "dealloc") (param i32 i32))
  (func $run (export "run") (param $ptr i32) (param $len i32) (result i64)
    {body}))
"""

ECHO_BODY = "(i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len)))"


def rust_abi_module(body: str = ECHO_BODY, imports: str = "", data: str = "", pages: int = 1, extra: str = "") -> bytes:
    wat = RUST_ABI_WAT.format(body=body, imports=imports, data=data, pages=pages)
    return wasmtime.wat2wasm(wat.rstrip()[:-1] + extra + ")")


GET_SECRET = '(import "loom" "get_secret" (func $get_secret (param i32 i32) (result i64)))'
LOG = '(import "loom" "log" (func $log (param i32 i32 i32)))'
# run() asks for the secret named by the 9 bytes at offset 16 and returns its value as the output.
SECRET_BODY = "(call $get_secret (i32.const 16) (i32.const 9))"
LOG_BODY = (
    "(call $log (i32.const 2) (i32.const 16) (i32.const 5)) "
    + "(i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len)))"
)


def wat_bytes(data: bytes) -> str:
    """``data`` as a WAT string literal's contents (every byte escaped)."""
    return "".join(f"\\{b:02x}" for b in data)
