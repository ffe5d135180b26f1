"""Hostile modules against the sandbox: one memory cap bounds everything a call can make the host hold, outputs
have a cap checked before they are read, the deadline holds inside host calls, and a guest's mistakes are typed
errors (never a Python traceback)."""

from __future__ import annotations

import resource
import time

import pytest
import wasmtime

from pipeline import errors
from pipeline.core import Capabilities, Limits
from pipeline.sandbox import LOG_CALL_BYTES, LOG_LINE_BYTES
from tests.support.wat import ECHO_BODY, rust_abi_module

MIB = 1 << 20
LOG = '(import "loom" "log" (func $log (param i32 i32 i32)))'
STATE_SET = '(import "loom" "state_set" (func $state_set (param i32 i32 i32 i32)))'


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_several_memories_are_refused(executor, define) -> None:
    """Nine memories of 16 MiB each would be 144 MiB under a 16 MiB cap: a module gets one memory."""
    wat = (
        "(module "
        + " ".join(f"(memory {i} 1)" for i in range(9))
        + ' (memory (export "memory") 1) (func (export "alloc") (param i32) (result i32) i32.const 0)'
        ' (func (export "dealloc") (param i32 i32)) (func (export "run") (param i32 i32) (result i64) i64.const 0))'
    )
    with pytest.raises(errors.InvalidModule, match=r"(?i)memor"):
        executor.run(define(wasmtime.wat2wasm(wat), limits=Limits(memory_mib=16)), {})


def test_table_growth_counts_against_the_memory_cap(executor, define) -> None:
    """50M table entries would be ~400 MB of host memory under a 4 MiB cap: the grow is refused."""
    grow = (
        "(if (i32.eq (table.grow $t (ref.null func) (i32.const 50000000)) (i32.const -1)) (then unreachable)) "
        + ECHO_BODY
    )
    module = rust_abi_module(grow, extra="(table $t 1 funcref)")
    before = _peak_rss_mib()
    with pytest.raises(errors.ActivityTrapped, match="unreachable"):
        executor.run(define(module, limits=Limits(memory_mib=4)), {})
    assert _peak_rss_mib() - before < 100


def test_a_large_initial_table_is_refused_at_instantiation(executor, define) -> None:
    module = rust_abi_module(extra="(table 10000000 funcref)")
    with pytest.raises(errors.ActivityOutOfMemory, match="limit of 1 MiB"):
        executor.run(define(module, limits=Limits(memory_mib=1)), {})


def test_actor_state_counts_against_the_memory_cap(executor, define) -> None:
    """64 values of 16 MiB under a 32 MiB cap would hold 1 GB on the host: state has a share of the cap."""
    loop = (
        """(local $i i32)
        (loop $l
          (call $state_set (i32.const 16) (i32.const 1) (i32.const 65536) (i32.const 16777216))
          (i32.store8 (i32.const 16) (i32.add (i32.load8_u (i32.const 16)) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 64))))
        """
        + ECHO_BODY
    )
    module = rust_abi_module(loop, imports=STATE_SET, data="a", pages=257)
    defn = define(module, limits=Limits(memory_mib=32), capabilities=Capabilities(host_functions=("loom_state",)))
    before = _peak_rss_mib()
    with pytest.raises(errors.ActivityOutOfMemory, match="actor state"):
        executor.actor(defn, "a1").call({})
    assert _peak_rss_mib() - before < 100


def test_small_actor_state_still_fits(executor, define) -> None:
    body = "(call $state_set (i32.const 16) (i32.const 1) (i32.const 16) (i32.const 1)) " + ECHO_BODY
    defn = define(
        rust_abi_module(body, imports=STATE_SET, data="k"),
        limits=Limits(memory_mib=1),
        capabilities=Capabilities(host_functions=("loom_state",)),
    )
    assert executor.actor(defn, "a1").call({"x": 1}) == {"x": 1}


def test_output_over_its_cap_is_refused_before_it_is_read(executor, define) -> None:
    """A 64 MiB output inside a 128 MiB memory: refused from its length alone, in well under a second."""
    body = "(i64.or (i64.shl (i64.const 65536) (i64.const 32)) (i64.const 67108864))"
    module = rust_abi_module(body, pages=1026)
    start = time.monotonic()
    with pytest.raises(errors.OutputTooLarge, match="67108864 bytes"):
        executor.run(define(module, limits=Limits(memory_mib=128)), {})
    assert time.monotonic() - start < 1.0


def test_output_cap_is_a_limit_of_its_own(executor, define) -> None:
    module = rust_abi_module(pages=40)
    document = {"pad": "x" * (2 * MIB)}
    with pytest.raises(errors.OutputTooLarge):
        executor.run(define(module, limits=Limits(memory_mib=64, output_mib=1)), document)
    assert executor.run(define(module, name="roomy", limits=Limits(memory_mib=64, output_mib=4)), document) == document


def test_deadline_holds_while_the_host_logs(executor, define) -> None:
    """Endless 8 MiB log lines under a 500 ms deadline: each line is cut, the call's log has a budget, and the
    deadline is checked inside the host function, so even a slow log sink cannot hold the call."""
    body = "(loop $l (call $log (i32.const 1) (i32.const 0) (i32.const 8388608)) (br $l)) (i64.const 0)"
    defn = define(
        rust_abi_module(body, imports=LOG, pages=129),
        limits=Limits(fuel=10**15, wall_clock_ms=500),
        capabilities=Capabilities(host_functions=("loom_log",)),
    )
    lines: list[str] = []

    def slow_sink(level: str, text: str) -> None:
        lines.append(text)
        time.sleep(0.05)

    start = time.monotonic()
    with pytest.raises(errors.ActivityTimeout, match="deadline of 500 ms"):
        executor.run(defn, {}, log=slow_sink)
    assert time.monotonic() - start < 2.0
    assert lines and all(len(line.encode()) < LOG_LINE_BYTES + 100 for line in lines)
    assert sum(len(line) for line in lines) <= LOG_CALL_BYTES + 200


def test_log_budget_per_call(executor, define) -> None:
    body = (
        """(local $i i32)
        (loop $l (call $log (i32.const 1) (i32.const 0) (i32.const 65536))
          (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
        """
        + ECHO_BODY
    )
    defn = define(rust_abi_module(body, imports=LOG, pages=2), capabilities=Capabilities(host_functions=("loom_log",)))
    lines: list[str] = []
    assert executor.run(defn, {"done": True}, log=lambda level, text: lines.append(text)) == {"done": True}
    assert "further lines are dropped" in lines[-1]
    assert len(lines) <= LOG_CALL_BYTES // 65536 + 1


def test_deeply_nested_output_is_invalid_output(executor, define) -> None:
    depth = 100_000
    text = "[" * depth + "]" * depth
    body = f"(i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const {len(text)}))"
    module = rust_abi_module(body, data=text, pages=4)
    with pytest.raises(errors.InvalidOutput, match="nested too deeply"):
        executor.run(define(module), {})


def test_deeply_nested_input_is_invalid_input(executor, define) -> None:
    with pytest.raises(errors.InvalidInput, match="nested too deeply"):
        executor.run(define(rust_abi_module()), b"[" * 100_000 + b"]" * 100_000)


def test_output_pointer_outside_memory_is_a_trap(executor, define) -> None:
    body = "(i64.or (i64.shl (i64.const 4294901760) (i64.const 32)) (i64.const 100))"
    with pytest.raises(errors.ActivityTrapped, match="outside the guest's memory"):
        executor.run(define(rust_abi_module(body)), {})


def test_host_call_with_a_pointer_outside_memory_is_a_trap(executor, define) -> None:
    body = "(call $log (i32.const 1) (i32.const 65000) (i32.const 10000)) " + ECHO_BODY
    defn = define(rust_abi_module(body, imports=LOG), capabilities=Capabilities(host_functions=("loom_log",)))
    with pytest.raises(errors.ActivityTrapped, match=r"loom\.log: the buffer"):
        executor.run(defn, {}, log=lambda *_: None)


# An AssemblyScript-shaped module whose run() returns a string holding a lone UTF-16 surrogate.
LONE_SURROGATE_AS = """
(module
  (memory (export "memory") 1)
  (data (i32.const 1020) "\\02\\00\\00\\00\\00\\d8")
  (global $next (mut i32) (i32.const 4096))
  (func (export "__new") (param $size i32) (param $id i32) (result i32)
    (local $p i32) (local.set $p (i32.add (global.get $next) (i32.const 16)))
    (global.set $next (i32.add (local.get $p) (local.get $size))) (local.get $p))
  (func (export "__pin") (param i32) (result i32) (local.get 0))
  (func (export "__unpin") (param i32))
  (func (export "run") (param i32) (result i32) (i32.const 1024)))
"""


def test_assemblyscript_string_that_is_not_utf16_is_invalid_output(executor, define) -> None:
    defn = define(wasmtime.wat2wasm(LONE_SURROGATE_AS), "assemblyscript")
    with pytest.raises(errors.InvalidOutput, match="not valid UTF-16"):
        executor.run(defn, {})


def test_fuel_exhaustion_is_typed_and_not_retryable(executor, define) -> None:
    defn = define(rust_abi_module("(loop $l (br $l)) (i64.const 0)"), limits=Limits(fuel=100_000))
    with pytest.raises(errors.ActivityOutOfFuel) as info:
        executor.run(defn, {})
    assert not info.value.retryable
    assert errors.ActivityTimeout("wall clock").retryable  # a busy machine may pass next time


@pytest.mark.parametrize(
    "limits", [{"fuel": 2**64}, {"wall_clock_ms": 2**64}, {"memory_mib": 2**64}, {"output_mib": 0}, {"fuel": 0}]
)
def test_limits_out_of_range_are_refused(limits) -> None:
    with pytest.raises(ValueError):
        Limits(**limits)


def test_unknown_grants_are_refused() -> None:
    with pytest.raises(ValueError, match="loom_log"):
        Capabilities(host_functions=("loom_network",))
    with pytest.raises(ValueError, match="secret name"):
        Capabilities(secrets=("../etc/passwd",))


def _rust_abi(alloc: str, run: str, dealloc: str = "(param i32 i32)") -> bytes:
    """The Rust ABI's three exports with the given types (bodies that only make up a value of the result type)."""

    def body(sig: str) -> str:
        results = sig.split("(result ")[1].split(")")[0].split() if "(result " in sig else []
        return " ".join(f"{kind}.const 0" for kind in results)

    wat = (
        '(module (memory (export "memory") 1) '
        f'(func (export "alloc") {alloc} {body(alloc)}) '
        f'(func (export "dealloc") {dealloc} {body(dealloc)}) '
        f'(func (export "run") {run} {body(run)}))'
    )
    return wasmtime.wat2wasm(wat)


@pytest.mark.parametrize(
    ("alloc", "run", "export"),
    [
        ("(param i32) (result i32)", "(param i32) (result i64)", "run"),  # one parameter short
        ("(param i32) (result i32)", "(param i32 i32 i32) (result i64)", "run"),  # one too many
        ("(param i32) (result i32)", "(param i64 i64) (result i64)", "run"),  # wider parameters
        ("(param i32) (result i32)", "(param i32 i32) (result i64 i64)", "run"),  # two results
        ("(param i32) (result i32)", "(param i32 i32)", "run"),  # no result
        ("(param i32) (result i32)", "(param i32 i32) (result f64)", "run"),  # a float
        ("(param f32) (result i32)", "(param i32 i32) (result i64)", "alloc"),
        ("(param i32)", "(param i32 i32) (result i64)", "alloc"),
    ],
)
def test_abi_exports_of_the_wrong_type_are_an_invalid_module(executor, define, alloc: str, run: str, export: str):
    """Loom calls the ABI's exports with the types the ABI gives them; wasmtime refuses any other type before the
    function runs, and the refusal names the export and both types."""
    with pytest.raises(errors.InvalidModule, match=rf"export '{export}'") as caught:
        executor.run(define(_rust_abi(alloc, run)), {"x": 1})
    assert "\n" not in str(caught.value)
