"""Host functions (wasm module ``loom``), each granted per activity by its capabilities.

| import                                  | capability        | what it does                                        |
|-----------------------------------------|-------------------|-----------------------------------------------------|
| ``log(level, ptr, len)``                | ``loom_log``      | UTF-8 message into the run's log (0 debug .. 3 error)|
| ``get_secret(ptr, len) -> i64``         | ``loom_get_secret``| a secret listed in ``capabilities.secrets``; -1 if unset |
| ``state_get(ptr, len) -> i64``          | ``loom_state``    | the actor's value for a key; -1 if absent           |
| ``state_set(kptr, klen, vptr, vlen)``   | ``loom_state``    | sets the actor's value for a key                    |

Buffers returned to the guest are ``(ptr << 32) | len``, allocated with the module's own allocator. A call to a
function the activity was not granted, or for a secret it does not list, raises ``CapabilityDenied``.
Two imports need no grant: AssemblyScript's ``env.abort`` becomes ``ActivityTrapped`` with the guest's message, and
``loom.fail(ptr, len)`` (a UTF-8 reason) ends the call with ``ActivityRejected``: how a Rust activity refuses
its input without trapping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import wasmtime

from pipeline import errors
from pipeline.models import Capabilities
from pipeline.secrets import SecretProvider
from pipeline.wasm.abi import Abi

LEVELS = {0: "debug", 1: "info", 2: "warn", 3: "error"}
Log = Callable[[str, str], None]


@dataclass
class CallContext:
    """What host functions may touch during one call into a module."""

    activity: str
    capabilities: Capabilities
    abi: Abi | None  # None for Extism plugins, whose SDK moves buffers itself
    secrets: SecretProvider
    log: Log | None = None
    state: dict[str, bytes] = field(default_factory=dict)
    denied: errors.CapabilityDenied | None = None  # set by host functions that cannot raise into the guest


_current = threading.local()


def enter(ctx: CallContext) -> None:
    _current.ctx = ctx


def leave() -> None:
    _current.ctx = None


def current(capability: str) -> CallContext:
    """The context of the call in progress, if it was granted ``capability``; else ``CapabilityDenied``."""
    return _ctx(capability)


def _ctx(capability: str) -> CallContext:
    ctx: CallContext | None = getattr(_current, "ctx", None)
    if ctx is None:
        raise errors.CapabilityDenied(f"host function {capability} called outside an activity call")
    if capability not in ctx.capabilities.host_functions:
        raise errors.CapabilityDenied(f"activity {ctx.activity} called {capability}, which it was not granted")
    return ctx


def _read(caller: wasmtime.Caller, ptr: int, size: int) -> bytes:
    return caller.get("memory").read(caller, ptr, ptr + size)


def _log(caller: wasmtime.Caller, level: int, ptr: int, size: int) -> None:
    ctx = _ctx("loom_log")
    if ctx.log:
        ctx.log(LEVELS.get(level, "info"), _read(caller, ptr, size).decode("utf-8", "replace"))


def read_secret(name: str) -> str | None:
    """A granted secret's value for the call in progress (None when granted but unset)."""
    ctx = _ctx("loom_get_secret")
    if name not in ctx.capabilities.secrets:
        raise errors.CapabilityDenied(f"activity {ctx.activity} asked for secret {name!r}, which it was not granted")
    return ctx.secrets.get(name)


def _get_secret(caller: wasmtime.Caller, ptr: int, size: int) -> int:
    value = read_secret(_read(caller, ptr, size).decode("utf-8", "replace"))
    return -1 if value is None else _ctx("loom_get_secret").abi.give(caller, value.encode())


def _state_get(caller: wasmtime.Caller, ptr: int, size: int) -> int:
    ctx = _ctx("loom_state")
    value = ctx.state.get(_read(caller, ptr, size).decode("utf-8", "replace"))
    return -1 if value is None else ctx.abi.give(caller, value)


def _state_set(caller: wasmtime.Caller, kptr: int, klen: int, vptr: int, vlen: int) -> None:
    ctx = _ctx("loom_state")
    ctx.state[_read(caller, kptr, klen).decode("utf-8", "replace")] = _read(caller, vptr, vlen)


class GuestAbort(Exception):
    """AssemblyScript called ``abort``: carries its message and source location."""


class GuestFailure(Exception):
    """The guest called ``loom.fail``: it rejected its input, for the reason given."""


def _fail(caller: wasmtime.Caller, ptr: int, size: int) -> None:
    raise GuestFailure(_read(caller, ptr, min(size, 64 * 1024)).decode("utf-8", "replace"))


def _abort(caller: wasmtime.Caller, msg: int, file: int, line: int, col: int) -> None:
    def text(ptr: int) -> str:
        if not ptr:
            return ""
        memory = caller.get("memory")
        size = int.from_bytes(memory.read(caller, ptr - 4, ptr), "little")
        return memory.read(caller, ptr, ptr + size).decode("utf-16-le", "replace")

    raise GuestAbort(f"{text(msg)} (at {text(file)}:{line}:{col})")


def define(linker: wasmtime.Linker) -> None:
    """Adds every host function to ``linker``; grants are checked per call."""
    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    signatures = {
        ("loom", "log"): ([i32, i32, i32], [], _log),
        ("loom", "get_secret"): ([i32, i32], [i64], _get_secret),
        ("loom", "state_get"): ([i32, i32], [i64], _state_get),
        ("loom", "state_set"): ([i32, i32, i32, i32], [], _state_set),
        ("loom", "fail"): ([i32, i32], [], _fail),
        ("env", "abort"): ([i32, i32, i32, i32], [], _abort),
    }
    for (module, name), (params, results, func) in signatures.items():
        linker.define_func(module, name, wasmtime.FuncType(params, results), func, access_caller=True)
