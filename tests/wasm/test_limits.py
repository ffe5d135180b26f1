"""Untrusted wasm can exhaust no more than its limits: fuel, wall clock, memory; traps carry their frames."""

from __future__ import annotations

import time

import pytest

from pipeline import errors
from pipeline.core import Limits
from tests.support.wat import rust_abi_module

LOOP = "(loop $l (br $l)) (i64.const 0)"
GROW_UNTIL_FAIL = """
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable"""


def test_infinite_loop_stops_at_wall_clock_deadline(executor, define) -> None:
    defn = define(rust_abi_module(LOOP), limits=Limits(fuel=10**15, wall_clock_ms=200))
    start = time.monotonic()
    with pytest.raises(errors.ActivityTimeout, match="deadline of 200 ms"):
        executor.run(defn, {})
    assert time.monotonic() - start < 2.0


def test_infinite_loop_stops_when_fuel_runs_out(executor, define) -> None:
    defn = define(rust_abi_module(LOOP), limits=Limits(fuel=1_000_000, wall_clock_ms=60_000))
    start = time.monotonic()
    with pytest.raises(errors.ActivityTimeout, match="fuel"):
        executor.run(defn, {})
    assert time.monotonic() - start < 2.0


def test_memory_bomb_stops_at_its_limit(executor, define) -> None:
    defn = define(rust_abi_module(GROW_UNTIL_FAIL), limits=Limits(memory_mib=8))
    with pytest.raises(errors.ActivityOutOfMemory, match="limit 8 MiB"):
        executor.run(defn, {})


def test_module_declaring_more_memory_than_allowed(executor, define) -> None:
    defn = define(rust_abi_module(pages=64), limits=Limits(memory_mib=1))
    with pytest.raises(errors.ActivityOutOfMemory):
        executor.run(defn, {})


def test_trap_carries_message_and_frames(executor, define) -> None:
    module = rust_abi_module("(call $explode) (i64.const 0)", extra="(func $explode unreachable)")
    with pytest.raises(errors.ActivityTrapped, match="unreachable") as info:
        executor.run(define(module), {})
    assert any("explode" in frame for frame in info.value.frames), info.value.frames


def test_assemblyscript_abort_message_reaches_the_caller(executor, define, built) -> None:
    defn = define(built / "activities" / "json_pick.wasm", "assemblyscript")
    with pytest.raises(errors.ActivityTrapped, match=r"json_pick: input must be"):
        executor.run(defn, {"paths": []})


def test_a_failed_call_leaves_the_next_one_unharmed(executor, define, built) -> None:
    defn = define(built / "activities" / "json_pick.wasm", "assemblyscript")
    with pytest.raises(errors.ActivityTrapped):
        executor.run(defn, {"document": {}, "paths": "not a list"})
    assert executor.run(defn, {"document": {"a": 1}, "paths": ["a"]}) == {"a": 1}
