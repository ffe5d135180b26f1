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

EXPORT_PREFIX = "__loom_global_"
_MAGIC = b"LOOMSNAP1\n"


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _encode_uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _skip_name(data: bytes, pos: int) -> int:
    size, pos = _uleb(data, pos)
    return pos + size


def _skip_limits(data: bytes, pos: int) -> int:
    flags, pos = data[pos], pos + 1
    _, pos = _uleb(data, pos)
    if flags & 1:
        _, pos = _uleb(data, pos)
    return pos


def _skip_const_expr(data: bytes, pos: int) -> int:
    immediates = {0x41: "sleb", 0x42: "sleb", 0x23: "uleb", 0xD2: "uleb", 0x43: 4, 0x44: 8, 0xD0: 1}
    while data[pos] != 0x0B:
        op, pos = data[pos], pos + 1
        kind = immediates.get(op, 0)
        if kind in ("sleb", "uleb"):
            _, pos = _uleb(data, pos)
        else:
            pos += kind
    return pos + 1


def _sections(wasm: bytes) -> list[tuple[int, bytes]]:
    pos, out = 8, []
    while pos < len(wasm):
        section_id = wasm[pos]
        size, start = _uleb(wasm, pos + 1)
        out.append((section_id, wasm[start:start + size]))
        pos = start + size
    return out


def export_mutable_globals(wasm: bytes) -> bytes:
    """The same module, additionally exporting each mutable global it defines."""
    sections = _sections(wasm)
    imported = 0
    mutable: list[int] = []
    for section_id, body in sections:
        if section_id == 2:  # imports: imported globals come first in the global index space
            count, pos = _uleb(body, 0)
            for _ in range(count):
                pos = _skip_name(body, _skip_name(body, pos))
                kind, pos = body[pos], pos + 1
                if kind in (0x00, 0x04):  # function: type index; tag: attribute byte, type index
                    _, pos = _uleb(body, pos + (kind == 0x04))
                elif kind == 0x01:  # table: reference type, limits
                    pos = _skip_limits(body, pos + 1)
                elif kind == 0x02:  # memory: limits
                    pos = _skip_limits(body, pos)
                else:  # global: value type, mutability
                    imported += 1
                    pos += 2
        elif section_id == 6:
            count, pos = _uleb(body, 0)
            for index in range(count):
                is_mutable = body[pos + 1] == 1
                pos = _skip_const_expr(body, pos + 2)
                if is_mutable:
                    mutable.append(imported + index)
    if not any(section_id == 7 for section_id, _ in sections):
        raise errors.InvalidModule("an actor module must export its memory")
    out = bytearray(wasm[:8])
    for section_id, body in sections:
        if section_id == 7:
            count, pos = _uleb(body, 0)
            added = b"".join(_encode_uleb(len(name)) + name + b"\x03" + _encode_uleb(index)
                             for index in mutable for name in [f"{EXPORT_PREFIX}{index}".encode()])
            body = _encode_uleb(count + len(mutable)) + body[pos:] + added
        out += bytes([section_id]) + _encode_uleb(len(body)) + body
    return bytes(out)


def capture(store: wasmtime.Store, exports: wasmtime.InstanceExports, state: dict[str, bytes]) -> bytes:
    """Memory, mutable globals and the actor's key-value state, as one byte string."""
    memory = exports["memory"]
    globals_ = {name: g.value(store) for name, g in exports.items() if name.startswith(EXPORT_PREFIX)}
    header = json.dumps({"pages": memory.size(store), "globals": globals_,
                         "state": {k: v.hex() for k, v in state.items()}}).encode()
    return _MAGIC + struct.pack("<I", len(header)) + header + memory.read(store, 0, memory.data_len(store))


def restore(snapshot: bytes, store: wasmtime.Store, exports: wasmtime.InstanceExports) -> dict[str, bytes]:
    """Writes a captured state into a fresh instance of the same module; returns the key-value state."""
    if not snapshot.startswith(_MAGIC):
        raise errors.InvalidInput("not a Loom actor snapshot")
    (size,) = struct.unpack_from("<I", snapshot, len(_MAGIC))
    start = len(_MAGIC) + 4
    header = json.loads(snapshot[start:start + size])
    memory = exports["memory"]
    if memory.size(store) < header["pages"]:
        memory.grow(store, header["pages"] - memory.size(store))
    memory.write(store, snapshot[start + size:], 0)
    for name, value in header["globals"].items():
        exports[name].set_value(store, value)
    return {k: bytes.fromhex(v) for k, v in header["state"].items()}
