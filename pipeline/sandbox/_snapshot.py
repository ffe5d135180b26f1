"""Actor snapshots: a module's whole state is its linear memory plus its mutable globals (AssemblyScript keeps
module-level variables and its allocator's bookkeeping in globals). wasmtime cannot reach globals a module does
not export, so actors run a copy of the module whose binary also exports every mutable global it defines, as
``__loom_global_<index>``; a snapshot captures memory and those globals, and restores them into a fresh instance.
"""

from __future__ import annotations

import json
import struct

import wasmtime

from pipeline import errors
from pipeline.sandbox._abi import as_global, as_memory
from pipeline.sandbox._binary import encode_uleb, sections, skip_limits, skip_name, uleb
from pipeline.sandbox._fastcall import Exports

EXPORT_PREFIX = "__loom_global_"
_MAGIC = b"LOOMSNAP1\n"


def _skip_const_expr(data: bytes, pos: int) -> int:
    immediates: dict[int, str | int] = {
        0x41: "sleb",
        0x42: "sleb",
        0x23: "uleb",
        0xD2: "uleb",
        0x43: 4,
        0x44: 8,
        0xD0: 1,
    }
    while data[pos] != 0x0B:
        op, pos = data[pos], pos + 1
        kind = immediates.get(op, 0)
        if isinstance(kind, str):  # "sleb" or "uleb": skipping one is the same
            _, pos = uleb(data, pos)
        else:
            pos += kind
    return pos + 1


def export_mutable_globals(wasm: bytes) -> bytes:
    """The same module, additionally exporting each mutable global it defines."""
    parts = sections(wasm)
    if not any(section_id == 7 for section_id, _ in parts):
        raise errors.InvalidModule("an actor module must export its memory")
    imported = sum(_imported_globals(body) for section_id, body in parts if section_id == 2)
    mutable = [imported + i for section_id, body in parts if section_id == 6 for i in _mutable_globals(body)]
    out = bytearray(wasm[:8])
    for section_id, body in parts:
        if section_id == 7:
            count, pos = uleb(body, 0)
            added = b"".join(
                encode_uleb(len(name)) + name + b"\x03" + encode_uleb(index)
                for index in mutable
                for name in [f"{EXPORT_PREFIX}{index}".encode()]
            )
            body = encode_uleb(count + len(mutable)) + body[pos:] + added
        out += bytes([section_id]) + encode_uleb(len(body)) + body
    return bytes(out)


def _imported_globals(imports: bytes) -> int:
    """How many globals the import section brings in (they come first in the global index space)."""
    count, pos = uleb(imports, 0)
    globals_ = 0
    for _ in range(count):
        pos = skip_name(imports, skip_name(imports, pos))
        kind, pos = imports[pos], pos + 1
        if kind in (0x00, 0x04):  # function: type index; tag: attribute byte, type index
            _, pos = uleb(imports, pos + (kind == 0x04))
        elif kind == 0x01:  # table: reference type, limits
            pos = skip_limits(imports, pos + 1)
        elif kind == 0x02:  # memory: limits
            pos = skip_limits(imports, pos)
        else:  # global: value type, mutability
            globals_ += 1
            pos += 2
    return globals_


def _mutable_globals(globals_section: bytes) -> list[int]:
    """The indices, within the global section, of the globals it defines mutable."""
    count, pos = uleb(globals_section, 0)
    mutable = []
    for index in range(count):
        if globals_section[pos + 1] == 1:
            mutable.append(index)
        pos = _skip_const_expr(globals_section, pos + 2)
    return mutable


def capture(store: wasmtime.Store, exports: Exports, state: dict[str, bytes]) -> bytes:
    """Memory, mutable globals and the actor's key-value state, as one byte string."""
    memory = as_memory(exports["memory"])
    globals_ = {name: as_global(g, name).value(store) for name, g in exports.items() if name.startswith(EXPORT_PREFIX)}
    header = json.dumps(
        {"pages": memory.size(store), "globals": globals_, "state": {k: v.hex() for k, v in state.items()}}
    ).encode()
    return _MAGIC + struct.pack("<I", len(header)) + header + memory.read(store, 0, memory.data_len(store))


def restore(snapshot: bytes, store: wasmtime.Store, exports: Exports) -> dict[str, bytes]:
    """Writes a captured state into a fresh instance of the same module; returns the key-value state."""
    if not snapshot.startswith(_MAGIC):
        raise errors.InvalidInput("not a Loom actor snapshot")
    (size,) = struct.unpack_from("<I", snapshot, len(_MAGIC))
    start = len(_MAGIC) + 4
    header = json.loads(snapshot[start : start + size])
    memory = as_memory(exports["memory"])
    if memory.size(store) < header["pages"]:
        memory.grow(store, header["pages"] - memory.size(store))
    memory.write(store, snapshot[start + size :], 0)
    for name, value in header["globals"].items():
        as_global(exports[name], name).set_value(store, value)
    return {k: bytes.fromhex(v) for k, v in header["state"].items()}
