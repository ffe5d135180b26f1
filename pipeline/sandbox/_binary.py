"""The few pieces of the WebAssembly binary format Loom reads and rewrites (LEB128 numbers, sections, limits)."""

from __future__ import annotations


def uleb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def encode_uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def skip_name(data: bytes, pos: int) -> int:
    size, pos = uleb(data, pos)
    return pos + size


def skip_limits(data: bytes, pos: int) -> int:
    flags, pos = data[pos], pos + 1
    _, pos = uleb(data, pos)
    if flags & 1:
        _, pos = uleb(data, pos)
    return pos


def sections(wasm: bytes) -> list[tuple[int, bytes]]:
    pos, out = 8, []
    while pos < len(wasm):
        section_id = wasm[pos]
        size, start = uleb(wasm, pos + 1)
        out.append((section_id, wasm[start : start + size]))
        pos = start + size
    return out


def _bounded_limits(body: bytes, pos: int, cap: int, what: str) -> tuple[bytes, int]:
    """Re-encodes the limits at ``pos`` with a maximum of at most ``cap``; refuses a minimum above it."""
    flags, pos = body[pos], pos + 1
    if flags not in (0, 1):
        raise ValueError(f"{what} has limits flags {flags:#x} (shared or 64-bit), which Loom does not run")
    low, pos = uleb(body, pos)
    high = cap
    if flags:
        high, pos = uleb(body, pos)
    if low > cap:
        raise MemoryError(f"{what} starts at {low}, more than the {cap} its memory limit allows")
    return b"\x01" + encode_uleb(low) + encode_uleb(min(high, cap)), pos


def bound_tables_and_memory(wasm: bytes, *, max_pages: int, max_table_elements: int, max_tables: int) -> bytes:
    """The same module with every table's and memory's maximum lowered to the given caps, for runtimes (Extism)
    whose own limits do not reach tables. Refuses (ValueError) imported tables or memories, more than one memory
    and more than ``max_tables`` tables; raises MemoryError when a declared minimum is above its cap."""
    out = bytearray(wasm[:8])
    memories = tables = 0
    for section_id, body in sections(wasm):
        if section_id == 2:
            _refuse_imported_tables_and_memories(body)
        elif section_id in (4, 5):
            count, pos = uleb(body, 0)
            new = bytearray(encode_uleb(count))
            for index in range(count):
                if section_id == 4:
                    reftype = body[pos]
                    if reftype not in (0x70, 0x6F):
                        raise ValueError(f"table {index} has a typed reference type, which Loom does not run")
                    limits, pos = _bounded_limits(body, pos + 1, max_table_elements, f"table {index}")
                    new += bytes([reftype]) + limits
                else:
                    limits, pos = _bounded_limits(body, pos, max_pages, f"memory {index} (pages)")
                    new += limits
            if section_id == 4:
                tables += count
            else:
                memories += count
            body = bytes(new)
        out += bytes([section_id]) + encode_uleb(len(body)) + body
    if memories > 1:
        raise ValueError(f"the module declares {memories} memories; Loom runs modules with one")
    if tables > max_tables:
        raise ValueError(f"the module declares {tables} tables; Loom runs modules with at most {max_tables}")
    return bytes(out)


def _refuse_imported_tables_and_memories(body: bytes) -> None:
    count, pos = uleb(body, 0)
    for _ in range(count):
        pos = skip_name(body, skip_name(body, pos))
        kind, pos = body[pos], pos + 1
        if kind in (0x01, 0x02):
            raise ValueError("the module imports a table or a memory; Loom gives it none")
        if kind in (0x00, 0x04):
            _, pos = uleb(body, pos + (kind == 0x04))
        else:
            pos += 2


def _name(data: bytes, pos: int) -> tuple[bytes, int]:
    size, start = uleb(data, pos)
    return data[start : start + size], start + size


def _encode_name(name: bytes) -> bytes:
    return encode_uleb(len(name)) + name


def _skip_import_desc(body: bytes, pos: int) -> int:
    kind, pos = body[pos], pos + 1
    if kind == 0x00:  # function: type index
        return uleb(body, pos)[1]
    if kind == 0x01:  # table: reference type, limits
        return skip_limits(body, pos + 1)
    if kind == 0x02:  # memory: limits
        return skip_limits(body, pos)
    if kind == 0x03:  # global: value type, mutability
        return pos + 2
    if kind == 0x04:  # tag: attribute, type index
        return uleb(body, pos + 1)[1]
    raise ValueError(f"an import of unknown kind {kind:#x}")


def rename_imports(wasm: bytes, renames: dict[tuple[str, str], tuple[str, str]]) -> bytes:
    """The same module with each import ``(module, name)`` in ``renames`` re-pointed at the new pair: how Loom
    puts its own host function where a runtime would link one of its own (Extism's ``http_request``)."""
    wanted = {(m.encode(), n.encode()): (nm.encode(), nn.encode()) for (m, n), (nm, nn) in renames.items()}
    out = bytearray(wasm[:8])
    for section_id, body in sections(wasm):
        if section_id == 2:
            count, pos = uleb(body, 0)
            new = bytearray(encode_uleb(count))
            for _ in range(count):
                module, pos = _name(body, pos)
                name, pos = _name(body, pos)
                end = _skip_import_desc(body, pos)
                module, name = wanted.get((module, name), (module, name))
                new += _encode_name(module) + _encode_name(name) + body[pos:end]
                pos = end
            body = bytes(new)
        out += bytes([section_id]) + encode_uleb(len(body)) + body
    return bytes(out)
