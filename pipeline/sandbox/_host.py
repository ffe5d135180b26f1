"""Host functions (wasm module ``loom``), each granted per activity by its capabilities.

| import                                | capability          | what it does                                          |
|---------------------------------------|---------------------|-------------------------------------------------------|
| ``log(level, ptr, len)``              | ``loom_log``        | UTF-8 message into the run's log (0 debug .. 3 error) |
| ``get_secret(ptr, len) -> i64``       | ``loom_get_secret`` | a secret in ``capabilities.secrets``; -1 if unset     |
| ``state_get(ptr, len) -> i64``        | ``loom_state``      | the actor's value for a key; -1 if absent             |
| ``state_set(kptr, klen, vptr, vlen)`` | ``loom_state``      | sets the actor's value for a key                      |
| ``http(ptr, len) -> i64``             | ``loom_http``       | a JSON request out, the JSON response back (``_http``) |

Buffers returned to the guest are ``(ptr << 32) | len``, allocated with the module's own allocator. A call to a
function the activity was not granted, or for a secret it does not list, raises ``CapabilityDenied``.
Two imports need no grant: AssemblyScript's ``env.abort`` becomes ``ActivityTrapped`` with the guest's message, and
``loom.fail(ptr, len)`` (a UTF-8 reason) ends the call with ``ActivityRejected``: how a Rust activity refuses
its input without trapping.

Host functions run outside wasmtime's epoch checks, so each one checks the call's deadline itself and does a
bounded amount of work: log lines, keys, reasons and the actor's state have caps, and a pointer outside the
guest's memory is a trap, never a silently short read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import wasmtime

from pipeline import errors
from pipeline.core import Capabilities, HostFunction, SecretProvider
from pipeline.sandbox import _http
from pipeline.sandbox._abi import Abi, read_guest

LEVELS = {0: "debug", 1: "info", 2: "warn", 3: "error"}
Log = Callable[[str, str], None]

LOG_LINE_BYTES = 16 * 1024  # a longer line is cut, saying how much was left out
LOG_CALL_BYTES = 1 << 20  # per call; later lines are dropped, once said
KEY_BYTES = 4096  # secret names and state keys
REASON_BYTES = 64 * 1024  # loom.fail and abort messages
STATE_ENTRY_OVERHEAD = 64  # bytes the host holds per state entry beyond key and value


@dataclass
class CallContext:
    """What host functions may touch during one call into a module."""

    activity: str
    capabilities: Capabilities
    abi: Abi | None  # None for Extism plugins, whose SDK moves buffers itself
    secrets: SecretProvider
    log: Log | None = None
    state: dict[str, bytes] = field(default_factory=dict)
    state_budget: int = 0  # bytes of host-side state this activity may hold (a share of its memory cap)
    http_budget: int = 0  # bytes of one HTTP request or response the host may hold for it (loom_http)
    audit: _http.Audit | None = None  # told of each HTTP request (the runner journals them)
    deadline: float = float("inf")  # time.monotonic() past which the call is over
    wall_clock_ms: int = 0
    log_bytes: int = 0
    failure: errors.LoomError | None = None  # set by host functions that cannot raise into the guest (Extism)
    http_response: _http.Response | None = None  # the last answer, read by Extism's http_status_code/http_headers


def state_size(state: dict[str, bytes]) -> int:
    """Bytes the host holds for an actor's key-value state, counted against its memory cap."""
    return sum(len(k.encode()) + len(v) + STATE_ENTRY_OVERHEAD for k, v in state.items())


_current = threading.local()


def enter(ctx: CallContext, wall_clock_ms: int | None = None) -> None:
    """Makes ``ctx`` the call in progress on this thread; its deadline starts now."""
    if wall_clock_ms is not None:
        ctx.wall_clock_ms, ctx.deadline, ctx.log_bytes = wall_clock_ms, time.monotonic() + wall_clock_ms / 1000, 0
    _current.ctx = ctx


def leave() -> None:
    _current.ctx = None


def current(capability: HostFunction) -> CallContext:
    """The context of the call in progress, if it was granted ``capability``; else ``CapabilityDenied``."""
    return _ctx(capability)


def _ctx(capability: HostFunction) -> CallContext:
    ctx: CallContext | None = getattr(_current, "ctx", None)
    if ctx is None:
        raise errors.CapabilityDenied(f"host function {capability.value} called outside an activity call")
    if capability not in ctx.capabilities.host_functions:
        raise errors.CapabilityDenied(f"activity {ctx.activity} called {capability.value}, which it was not granted")
    check_deadline(ctx)
    return ctx


def check_deadline(ctx: CallContext) -> None:
    """Epoch interruption cannot stop a host function: each checks the deadline before doing any work."""
    if time.monotonic() > ctx.deadline:
        raise errors.ActivityTimeout(f"{ctx.activity} passed its deadline of {ctx.wall_clock_ms} ms")


def log_line(ctx: CallContext, level: str, data: bytes, size: int) -> None:
    """Hands a log line to the caller's log, cut to ``LOG_LINE_BYTES`` and within the call's log budget.
    ``data`` is at most the first ``LOG_LINE_BYTES`` of a line of ``size`` bytes."""
    if ctx.log is None or ctx.log_bytes > LOG_CALL_BYTES:
        return
    ctx.log_bytes += size
    if ctx.log_bytes > LOG_CALL_BYTES:
        ctx.log("warn", f"log limit of {LOG_CALL_BYTES} bytes per call reached: further lines are dropped")
        return
    text = data[:LOG_LINE_BYTES].decode("utf-8", "replace")
    ctx.log(level, text if size <= LOG_LINE_BYTES else f"{text}... ({size - LOG_LINE_BYTES} more bytes cut)")


def _log(caller: wasmtime.Caller, level: int, ptr: int, size: int) -> None:
    ctx = _ctx(HostFunction.loom_log)
    data = read_guest(caller, ptr, min(size, LOG_LINE_BYTES), what="loom.log")
    log_line(ctx, LEVELS.get(level, "info"), data, size)


def read_secret(name: str) -> str | None:
    """A granted secret's value for the call in progress (None when granted but unset)."""
    ctx = _ctx(HostFunction.loom_get_secret)
    if name not in ctx.capabilities.secrets:
        raise errors.CapabilityDenied(
            f"activity {ctx.activity} asked for secret {name[:128]!r}, which it was not granted"
        )
    return ctx.secrets.get(name)


def _key(caller: wasmtime.Caller, ptr: int, size: int, what: str) -> str:
    if size > KEY_BYTES:
        raise errors.ActivityRejected(f"{what}: a name of {size} bytes; at most {KEY_BYTES}")
    return read_guest(caller, ptr, size, what=what).decode("utf-8", "replace")


def _get_secret(caller: wasmtime.Caller, ptr: int, size: int) -> int:
    ctx = _ctx(HostFunction.loom_get_secret)
    value = read_secret(_key(caller, ptr, size, "loom.get_secret"))
    return -1 if value is None else _give(ctx, caller, value.encode())


def _state_get(caller: wasmtime.Caller, ptr: int, size: int) -> int:
    ctx = _ctx(HostFunction.loom_state)
    value = ctx.state.get(_key(caller, ptr, size, "loom.state_get"))
    return -1 if value is None else _give(ctx, caller, value)


def _state_set(caller: wasmtime.Caller, kptr: int, klen: int, vptr: int, vlen: int) -> None:
    ctx = _ctx(HostFunction.loom_state)
    key = _key(caller, kptr, klen, "loom.state_set")
    old = ctx.state.get(key)
    held = state_size(ctx.state) - (0 if old is None else len(key.encode()) + len(old) + STATE_ENTRY_OVERHEAD)
    needed = held + len(key.encode()) + vlen + STATE_ENTRY_OVERHEAD
    if needed > ctx.state_budget:
        raise errors.ActivityOutOfMemory(
            f"{ctx.activity} tried to hold {needed} bytes of actor state; its memory "
            f"limit leaves {ctx.state_budget} bytes for state"
        )
    ctx.state[key] = read_guest(caller, vptr, vlen, what="loom.state_set")


def granted_secret(ctx: CallContext, name: str) -> str | None:
    """A secret the activity is granted, for the host to use on its behalf (an HTTP header): unlike
    ``read_secret`` it needs no ``loom_get_secret``, since the value never reaches the guest."""
    if name not in ctx.capabilities.secrets:
        raise errors.HttpRefused(
            f"activity {ctx.activity}: a header names secret {name[:128]!r}, which it was not granted"
        )
    return ctx.secrets.get(name)


def http_client(ctx: CallContext) -> _http.Client:
    """The call's HTTP client: its grant, secrets, deadline and budget."""
    grant = ctx.capabilities.http
    if grant is None:  # Capabilities refuses loom_http without a grant; a hand-made context may still lack one
        raise errors.CapabilityDenied(f"activity {ctx.activity} has no http grant")
    deadline = _http.Deadline(ctx.deadline, ctx.activity, ctx.wall_clock_ms)
    return _http.Client(
        _http.Policy(grant, ctx.activity),
        lambda name: granted_secret(ctx, name),
        deadline,
        ctx.http_budget,
        audit=ctx.audit,
    )


def _http_call(caller: wasmtime.Caller, ptr: int, size: int) -> int:
    ctx = _ctx(HostFunction.loom_http)
    if size > ctx.http_budget:
        raise errors.ActivityOutOfMemory(
            f"loom.http: a request of {size} bytes; {ctx.activity} may hold {ctx.http_budget} bytes of HTTP"
        )
    request = _http.Request.parse(read_guest(caller, ptr, size, what="loom.http"))
    response = http_client(ctx).fetch(request)
    check_deadline(ctx)
    return _give(ctx, caller, response.to_guest())


def _give(ctx: CallContext, caller: wasmtime.Caller, data: bytes) -> int:
    assert ctx.abi is not None
    return ctx.abi.give(caller, data)


class GuestAbort(Exception):
    """AssemblyScript called ``abort``: carries its message and source location."""


class GuestFailure(Exception):
    """The guest called ``loom.fail``: it rejected its input, for the reason given."""


def _fail(caller: wasmtime.Caller, ptr: int, size: int) -> None:
    data = read_guest(caller, ptr, min(size, REASON_BYTES), what="loom.fail")
    raise GuestFailure(data.decode("utf-8", "replace"))


def _abort(caller: wasmtime.Caller, msg: int, file: int, line: int, col: int) -> None:
    def text(ptr: int) -> str:
        if not ptr:
            return ""
        size = int.from_bytes(read_guest(caller, ptr - 4, 4, what="env.abort"), "little")
        return read_guest(caller, ptr, min(size, REASON_BYTES), what="env.abort").decode("utf-16-le", "replace")

    raise GuestAbort(f"{text(msg)} (at {text(file)}:{line}:{col})")


def define(linker: wasmtime.Linker) -> None:
    """Adds every host function to ``linker``; grants are checked per call."""
    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    signatures: dict[tuple[str, str], tuple[list[wasmtime.ValType], list[wasmtime.ValType], Callable[..., Any]]] = {
        ("loom", "log"): ([i32, i32, i32], [], _log),
        ("loom", "get_secret"): ([i32, i32], [i64], _get_secret),
        ("loom", "state_get"): ([i32, i32], [i64], _state_get),
        ("loom", "state_set"): ([i32, i32, i32, i32], [], _state_set),
        ("loom", "http"): ([i32, i32], [i64], _http_call),
        ("loom", "fail"): ([i32, i32], [], _fail),
        ("env", "abort"): ([i32, i32, i32, i32], [], _abort),
    }
    for (module, name), (params, results, func) in signatures.items():
        linker.define_func(module, name, wasmtime.FuncType(params, results), func, access_caller=True)
