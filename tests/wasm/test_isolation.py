"""Every call of a stateless activity starts from the module's initial state: nothing a call leaves in memory or
in a mutable global is seen by the next one (an actor, which keeps its instance on purpose, shows that the probe
would see it), including when its instance comes from a pool slot that served other calls before."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import wasmtime

from pipeline.core import Limits
from pipeline.sandbox import WasmExecutor, _engine
from pipeline.sandbox._engine import POOL_SLOTS

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


# Calls take their instances from a pool of slots that wasmtime resets in place (Engine(pooled=True)): run() reports
# what it finds on entry (memory size in pages, a word in the part the pool keeps resident, and one past it, a table
# slot, a global), then grows its memory, writes both words, fills the table slot and sets the global. A slot that
# kept anything would answer differently the next time.
PAST = _engine.POOL_KEEP_RESIDENT + (11 << 17)  # 1.375 MiB past the resident part
PAGES = (PAST >> 16) + 2
SCRIBBLER = wasmtime.wat2wasm(
    """
(module
  (memory (export "memory") 1)
  (table 2 funcref)
  (global $g (mut i32) (i32.const 0))
  (func $f)
  (elem declare func $f)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "dealloc") (param i32 i32))
  (func $digit (param $at i32) (param $v i32)
    (i32.store8 (local.get $at) (i32.add (i32.const 48) (local.get $v))))
  (func (export "run") (param i32 i32) (result i64)
    (local $pages i32)
    (local.set $pages (memory.size))
    (if (i32.lt_u (local.get $pages) (i32.const PAGES))
      (then (drop (memory.grow (i32.sub (i32.const PAGES) (local.get $pages))))))
    (call $digit (i32.const 105) (i32.lt_u (local.get $pages) (i32.const PAGES)))
    (call $digit (i32.const 111) (i32.eqz (i32.load (i32.const 524288))))
    (call $digit (i32.const 117) (i32.eqz (i32.load (i32.const PAST))))
    (call $digit (i32.const 123) (ref.is_null (table.get (i32.const 1))))
    (call $digit (i32.const 129) (i32.eqz (global.get $g)))
    (i32.store (i32.const 524288) (i32.const 0xdeadbeef))
    (i32.store (i32.const PAST) (i32.const 0xdeadbeef))
    (table.set (i32.const 1) (ref.func $f))
    (global.set $g (i32.const 7))
    (i64.or (i64.shl (i64.const 100) (i64.const 32)) (i64.const 31)))
  (data (i32.const 100) "{\\"p\\":0,\\"a\\":0,\\"b\\":0,\\"t\\":0,\\"g\\":0}"))
""".replace("PAGES", str(PAGES)).replace("PAST", str(PAST))
)
FRESH = {"p": 1, "a": 1, "b": 1, "t": 1, "g": 1}


def test_a_pool_slot_is_reset_between_calls_memory_grown_past_the_resident_part_tables_and_globals(
    executor, define
) -> None:
    assert executor.engine.pooled
    scribbler = define(SCRIBBLER)
    other = define(PROBE, name="probe")  # another module in the same slots between the scribbler's calls
    answers = []
    for _ in range(2 * POOL_SLOTS):  # every slot used more than once
        answers.append(executor.run(scribbler, {}))
        assert executor.run(other, {}) == {"g": 1, "m": 1}
    assert answers == [FRESH] * len(answers)


def test_calls_beyond_the_pool_get_instances_of_their_own(monkeypatch, blobs, tmp_path, define) -> None:
    """More calls at once than slots: the extra ones run in an unpooled engine, with the same result."""
    monkeypatch.setattr(_engine, "POOL_SLOTS", 2)
    executor = WasmExecutor(blobs, cache_dir=tmp_path / "small-pool")
    scribbler, busy = define(SCRIBBLER), define(BUSY, name="busy", limits=Limits(fuel=10**12))
    start = threading.Barrier(8)

    def call(_: int) -> Any:
        start.wait()
        return executor.run(busy, {}), executor.run(scribbler, {})

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(call, range(8))) == [({"spun": True}, FRESH)] * 8
    assert executor.own_instances().modules.stats["compiled"] >= 1  # some went past the two slots


# Spins ~2^23 times, then answers: long enough that eight threads' calls overlap.
BUSY = wasmtime.wat2wasm(
    """
(module
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "dealloc") (param i32 i32))
  (func (export "run") (param i32 i32) (result i64)
    (local $i i32)
    (loop $spin (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spin (i32.lt_u (local.get $i) (i32.const 8388608))))
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 13)))
  (data (i32.const 16) "{\\"spun\\":true}"))
"""
)


def test_a_module_too_large_for_a_slot_runs_in_an_instance_of_its_own(executor, define) -> None:
    """200,000 globals need more instance state than a slot holds: wasmtime's pool refuses it, Loom does not."""
    globals_ = "(global (mut i64) (i64.const 0))" * 200_000
    wide = wasmtime.wat2wasm(
        f"""(module {globals_}
          (memory (export "memory") 1)
          (func (export "alloc") (param i32) (result i32) (i32.const 1024))
          (func (export "dealloc") (param i32 i32))
          (func (export "run") (param i32 i32) (result i64)
            (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 2)))
          (data (i32.const 16) "{{}}"))"""
    )
    assert executor.run(define(wide, name="wide"), {}) == {}


def test_a_memory_cap_larger_than_a_slot_runs_in_an_instance_of_its_own(executor, define) -> None:
    large = define(SCRIBBLER, name="large", limits=Limits(memory_mib=_engine.POOL_MEMORY_MIB * 2))
    assert [executor.run(large, {}) for _ in range(3)] == [FRESH] * 3


def test_under_an_address_space_limit_calls_run_without_a_pool(tmp_path) -> None:
    """wasmtime aborts the process when it cannot map a pool; under `ulimit -v` Loom makes no pool (and the call
    runs)."""
    program = f"""
import resource, wasmtime
resource.setrlimit(resource.RLIMIT_AS, (16 << 30, 16 << 30))
from pipeline.activities import register_module
from pipeline.sandbox import WasmExecutor
from pipeline.store import ActivityRegistry, MemoryBlobStore
blobs = MemoryBlobStore()
defn = register_module(bytes.fromhex("{SCRIBBLER.hex()}"), name="s", version="1.0.0", runtime="wasm", blobs=blobs,
                       registry=ActivityRegistry("{tmp_path}/r.sqlite"))
executor = WasmExecutor(blobs, cache_dir="{tmp_path}/modules")
print(executor.engine.pooled, executor.run(defn, {{}}) == {FRESH!r})
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True"]
