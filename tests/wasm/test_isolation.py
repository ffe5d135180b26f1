"""Every call of a stateless activity starts from the module's initial state: nothing a call leaves in memory or
in a mutable global is seen by the next one (an actor, which keeps its instance on purpose, shows that the probe
would see it)."""

from __future__ import annotations

import json

import wasmtime

# run() adds one to a mutable global and to an i32 in memory, and answers both as digits: {"g":1,"m":1} from a fresh
# instance, {"g":2,"m":2} from one that kept what the last call left.
PROBE = wasmtime.wat2wasm(
    """
(module
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 0))
  (data (i32.const 16) "{\\"g\\":0,\\"m\\":0}")
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "dealloc") (param i32 i32))
  (func (export "run") (param i32 i32) (result i64)
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1)))
    (i32.store8 (i32.const 21) (i32.add (i32.const 48) (global.get $g)))
    (i32.store8 (i32.const 27) (i32.add (i32.const 48) (i32.load (i32.const 64))))
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 13))))
"""
)


def test_no_state_survives_between_calls(executor, define) -> None:
    defn = define(PROBE)
    assert [executor.run(defn, {"n": i}) for i in range(5)] == [{"g": 1, "m": 1}] * 5


def test_an_actor_keeps_its_state_which_the_probe_sees(executor, define) -> None:
    actor = executor.actor(define(PROBE), "probe")
    assert [actor.call({}) for _ in range(3)] == [{"g": n, "m": n} for n in (1, 2, 3)]
    assert json.dumps(executor.run(define(PROBE), {})) == '{"g": 1, "m": 1}'  # and a plain call still starts fresh
