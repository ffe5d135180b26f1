"""An instance's exports and calls into them, without wasmtime-py's per-call bookkeeping.

A small call of an AssemblyScript activity makes four calls into the guest (``__new``, ``__pin``, ``run``,
``__unpin``). wasmtime-py's ``Func.__call__`` fetches and wraps the function's type on every call (about 30 us
each here), and ``Instance.exports()`` wraps every export of the module up front (about 45 us for an AssemblyScript
module): together most of what a fresh instance costs beyond a reused one. Here exports are looked up by name when
first asked for, and a call passes its integer arguments as the ABI declares them: wasmtime itself checks them
against the function's type (a mismatch is an error, never a misread), so nothing is lost by not checking twice.

This reaches into wasmtime-py's ctypes layer (``wasmtime._ffi``, ``enter_wasm``): pyproject pins wasmtime-py to one
major version, and every wasm test goes through this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from ctypes import byref
from typing import TYPE_CHECKING, cast

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime._extern import wrap_extern
from wasmtime._func import enter_wasm

from pipeline import errors

if TYPE_CHECKING:
    from wasmtime._exportable import AsExtern

I32 = ffi.WASMTIME_I32.value
I64 = ffi.WASMTIME_I64.value
_KIND_NAMES = {I32: "i32", I64: "i64"}


class Exports:
    """The exports of one instance, each looked up by name on first use (and remembered)."""

    def __init__(self, store: wasmtime.Store, instance: wasmtime.Instance) -> None:
        self._store, self._instance = store, instance
        self._found: dict[str, AsExtern | None] = {}

    def get(self, name: str) -> AsExtern | None:
        try:
            return self._found[name]
        except KeyError:
            pass
        item = ffi.wasmtime_extern_t()
        raw = name.encode()
        found = ffi.wasmtime_instance_export_get(
            self._store._context(), byref(self._instance._instance), raw, len(raw), byref(item)
        )
        export = _wrap(item) if found else None
        self._found[name] = export
        return export

    def __getitem__(self, name: str) -> AsExtern:
        export = self.get(name)
        if export is None:
            raise KeyError(name)
        return export

    def items(self) -> Iterator[tuple[str, AsExtern]]:
        """Every export (a snapshot reads all of an actor's globals): the slow, complete way."""
        return iter(self._instance.exports(self._store).items())


def _wrap(item: ffi.wasmtime_extern_t) -> AsExtern:
    kind = cast(int, item.kind)  # a ctypes field reads as a plain int
    if kind == ffi.WASMTIME_EXTERN_FUNC.value:
        return wasmtime.Func._from_raw(item.of.func)
    if kind == ffi.WASMTIME_EXTERN_MEMORY.value:
        return wasmtime.Memory._from_raw(item.of.memory)
    return wrap_extern(item)


def call(
    store: wasmtime.Store, func: wasmtime.Func, name: str, params: tuple[int, ...], kinds: tuple[int, ...], results: int
) -> int | None:
    """Calls ``func`` (the export ``name``) with integer ``params`` of the value ``kinds`` the ABI gives it (I32 or
    I64) and returns its one result, or ``None`` when it has none. A function of another type is refused by
    wasmtime before it runs; that is reported as a module that does not follow the ABI."""
    args = (ffi.wasmtime_val_t * len(params))()
    for slot, kind, value in zip(args, kinds, params, strict=True):
        slot.kind = kind
        if kind == I32:
            slot.of.i32 = value  # ctypes keeps the low 32 bits, as wasm's i32 does
        else:
            slot.of.i64 = value
    out = (ffi.wasmtime_val_t * results)()
    with enter_wasm(store) as trap:
        error = ffi.wasmtime_func_call(store._context(), byref(func._func), args, len(params), out, results, trap)
        if error:
            failure = wasmtime.WasmtimeError._from_ptr(error)
            raise _mismatch(store, func, name, kinds, results, failure)
    if not results:
        return None
    first = out[0]
    kind = cast(int, first.kind)
    if kind == I32:
        return int(first.of.i32)
    if kind == I64:
        return int(first.of.i64)
    raise errors.InvalidModule(f"the module's export {name!r} does not return an integer")


def _mismatch(
    store: wasmtime.Store, func: wasmtime.Func, name: str, kinds: tuple[int, ...], results: int, failure: Exception
) -> Exception:
    """wasmtime's refusal of the arguments as Loom's error naming the export and both types; any other error (the
    call itself failed before running) as it was."""
    ty = func.type(store)
    wanted = [_KIND_NAMES[k] for k in kinds]
    have = [str(p) for p in ty.params]
    if have == wanted and len(ty.results) == results:
        return failure
    shown = f"({', '.join(have)}) -> ({', '.join(str(r) for r in ty.results)})"
    return errors.InvalidModule(
        f"the module's export {name!r} has type {shown}; Loom's ABI calls it with ({', '.join(wanted)}) and "
        f"{results} result(s)"
    )
