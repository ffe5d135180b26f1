"""One translation of what the engines raise into Loom's errors: wasmtime's traps and errors (for the wasm ABIs and
WASI alike) and Extism's, so that every runtime reports a spent limit, a trap or a bad module in the same words.

What limits a call is known here (fuel, deadline, the memory cap); whether the memory was the cause cannot be read
from wasmtime (a refused ``memory.grow`` returns -1 to the guest, not an error to the host), so callers pass how
close the call came to its cap."""

from __future__ import annotations

from collections.abc import Callable

import wasmtime

from pipeline import errors
from pipeline.core import ActivityDefinition
from pipeline.sandbox import _host as host
from pipeline.sandbox._abi import as_memory
from pipeline.sandbox._budget import MIB, Budget
from pipeline.sandbox._engine import WASM_ERRORS, WasmError, reason
from pipeline.sandbox._fastcall import Exports


def frames(trap: wasmtime.Trap) -> list[str]:
    """The trap's wasm backtrace, one ``module!function+offset`` per frame."""
    return [
        f"{f.module_name or '<module>'}!{f.func_name or f'func[{f.func_index}]'}+{f.func_offset:#x}"
        for f in trap.frames or []
    ]


def near_memory_limit(defn: ActivityDefinition, store: wasmtime.Store, exports: Exports) -> bool:
    """Whether a failure is best explained by a refused ``memory.grow``: the memory could not have grown by another
    MiB, or doubled, within the cap (allocators grow by at least what they need, usually by doubling)."""
    used = as_memory(exports["memory"]).data_len(store)
    return used + max(MIB, used) > Budget.of(defn.limits, defn.capabilities).memory_bytes


def out_of_memory(defn: ActivityDefinition, detail: str = "") -> errors.ActivityOutOfMemory:
    return errors.ActivityOutOfMemory(
        f"{defn.ref} ran out of memory (limit {defn.limits.memory_mib} MiB){f': {detail}' if detail else ''}"
    )


def call_failure(defn: ActivityDefinition, exc: BaseException, near_limit: Callable[[], bool]) -> errors.LoomError:
    """What a call into a running instance raised, as Loom's error: the guest's refusal word for word, an abort, a
    spent limit, a trap with its frames."""
    limits = defn.limits
    if isinstance(exc, host.GuestFailure):
        return errors.ActivityRejected(str(exc))
    if isinstance(exc, host.GuestAbort):
        if near_limit() or "memory" in str(exc).lower():
            return out_of_memory(defn, str(exc))
        return errors.ActivityTrapped(f"{defn.ref} aborted: {exc}")
    if isinstance(exc, errors.ActivityTrapped | errors.InvalidOutput):  # the ABI's words: say whose fault it is
        return type(exc)(f"{defn.ref}: {exc}")
    if isinstance(exc, wasmtime.Trap):
        if exc.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
            return errors.ActivityOutOfFuel(f"{defn.ref} used all its fuel ({limits.fuel} units)")
        if exc.trap_code == wasmtime.TrapCode.INTERRUPT:
            return errors.ActivityTimeout(f"{defn.ref} passed its deadline of {limits.wall_clock_ms} ms")
        if near_limit():
            return out_of_memory(defn)
        said = exc.message.strip().splitlines()[-1].removeprefix("wasm trap: ").strip()
        return errors.ActivityTrapped(f"{defn.ref} trapped: {said}", frames(exc))
    if isinstance(exc, WASM_ERRORS):
        return errors.ActivityTrapped(f"{defn.ref} failed: {reason(exc)}")
    if isinstance(exc, errors.LoomError):
        return exc
    raise exc


def instantiation_failure(defn: ActivityDefinition, exc: WasmError) -> errors.LoomError:
    """Why an instance could not be made: a trap in its start function, a memory or table its limits forbid, or a
    module that does not fit."""
    if isinstance(exc, wasmtime.Trap):
        return errors.ActivityTrapped(f"{defn.ref} trapped while starting: {exc.message}", frames(exc))
    if any(word in str(exc).lower() for word in ("memory", "table", "resource limit")):
        return errors.ActivityOutOfMemory(
            f"{defn.ref} needs more memory than its limit of {defn.limits.memory_mib} MiB allows: {reason(exc)}"
        )
    return errors.InvalidModule(f"{defn.ref} cannot be instantiated: {reason(exc)}")


def link_failure(defn: ActivityDefinition, exc: WasmError, provided: str) -> errors.InvalidModule:
    """A module whose imports the host does not provide (``provided`` says what it does)."""
    return errors.InvalidModule(f"{defn.ref} cannot be linked: {reason(exc)} ({provided})")


def extism_failure(defn: ActivityDefinition, message: str) -> errors.LoomError:
    """An Extism call's error (the SDK gives text only): a deadline, the memory cap, or a failure in the plugin."""
    lowered = message.lower()
    if "timeout" in lowered or "timed out" in lowered:
        return errors.ActivityTimeout(f"{defn.ref} passed its deadline of {defn.limits.wall_clock_ms} ms")
    if "memory" in lowered and ("limit" in lowered or "grow" in lowered or "exceed" in lowered):
        return out_of_memory(defn)
    return errors.ActivityTrapped(f"{defn.ref} failed: {message.strip()}")
