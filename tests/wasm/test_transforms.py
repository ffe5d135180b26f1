"""The shipped JSON transforms (json_pick, redact) against a second implementation of what they promise, in Python:
each value picked (or replaced) is the exact text the document holds at that path, the first member of a key given
twice, indices only into arrays, a missing path null (or untouched), a document given as a string read as JSON text.
Random documents with random whitespace, escapes, non-ASCII and astral text, duplicate keys; byte for byte."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import wasmtime

from pipeline.core import data_dir

_DECODER = json.JSONDecoder()
KEYS = ["a", "b", "é", 'k"q', "x.y", "0", "1", "", "🦊", "a\\b", "tab\t", "\x01"]


def _ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\n\r":
        i += 1
    return i


def _end(text: str, i: int) -> int:
    return _DECODER.raw_decode(text, i)[1]


def _members(text: str, i: int) -> list[tuple[str, int, int]]:
    """(key, value start, value end) of the object at ``i``, in order."""
    out, i = [], _ws(text, i + 1)
    while text[i] != "}":
        key, i = _DECODER.raw_decode(text, i)
        start = _ws(text, _ws(text, i) + 1)  # past the colon
        end = _end(text, start)
        out.append((key, start, end))
        i = _ws(text, end)
        i = _ws(text, i + 1) if text[i] == "," else i
    return out


def _elements(text: str, i: int) -> list[tuple[int, int]]:
    out, i = [], _ws(text, i + 1)
    while text[i] != "]":
        start = _ws(text, i)
        end = _end(text, start)
        out.append((start, end))
        i = _ws(text, end)
        i = i + 1 if text[i] == "," else i
    return out


def locate(text: str, path: str) -> tuple[int, int] | None:
    """Where the value at ``path`` lies in ``text`` (valid JSON), as the transforms promise."""
    i = _ws(text, 0)
    if path == "":
        return i, _end(text, i)
    found: tuple[int, int] | None = None
    for part in path.split("."):
        if text[i] == "{":
            found = next(((s, e) for k, s, e in _members(text, i) if k == part), None)
        elif text[i] == "[" and part.isdigit() and part.isascii() and len(part) <= 9:
            elements = _elements(text, i)
            found = elements[int(part)] if int(part) < len(elements) else None
        else:
            return None
        if found is None:
            return None
        i = found[0]
    return found


def quote(value: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return '"' + "".join(escapes.get(c, f"\\u{ord(c):04x}" if ord(c) < 0x20 else c) for c in value) + '"'


def expected_pick(doc: str, paths: list[str]) -> str:
    parts = []
    for path in paths:
        span = locate(doc, path)
        parts.append(quote(path) + ":" + ("null" if span is None else doc[span[0] : span[1]]))
    return "{" + ",".join(parts) + "}"


def expected_redact(doc: str, paths: list[str]) -> str:
    spans = sorted(span for path in paths if (span := locate(doc, path)) is not None)
    out, at = [], 0
    for start, end in spans:
        if start < at:
            continue  # inside a value already redacted
        out.append(doc[at:start] + '"[redacted]"')
        at = end
    return "".join(out) + doc[at:]


class Transform:
    """A shipped AssemblyScript module called bare (the ABI's string in, string out), for byte-exact output."""

    def __init__(self, name: str) -> None:
        self.engine = wasmtime.Engine()
        self.module = wasmtime.Module(self.engine, (data_dir() / "activities" / f"{name}.wasm").read_bytes())
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_func("env", "abort", wasmtime.FuncType([wasmtime.ValType.i32()] * 4, []), self._abort)

    @staticmethod
    def _abort(*_: Any) -> None:
        raise RuntimeError("abort")

    def __call__(self, text: str) -> str:
        store = wasmtime.Store(self.engine)
        exports = self.linker.instantiate(store, self.module).exports(store)
        data = text.encode("utf-16-le")
        ptr = exports["__new"](store, len(data), 2)
        exports["memory"].write(store, data, ptr)
        exports["__pin"](store, ptr)
        out = exports["run"](store, ptr)
        size = int.from_bytes(exports["memory"].read(store, out - 4, out), "little")
        return exports["memory"].read(store, out, out + size).decode("utf-16-le")


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 4 or roll < 0.35:
        return rng.choice([0, -1, 1.5, -2.5e-10, 1e300, True, False, None, "", "s", 'ü"\\/\n\u2028', "🦊x", 2**70])
    if roll < 0.65:
        return {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    return [_value(rng, depth + 1) for _ in range(rng.randint(0, 6))]


def _text(rng: random.Random, value: Any) -> str:
    """``value`` as JSON text with random whitespace and escaping, and now and then a key given twice."""
    ws = lambda: rng.choice(["", "", " ", "\n", "\t ", "\r\n  "])  # noqa: E731
    if isinstance(value, dict):
        items = list(value.items())
        if items and rng.random() < 0.2:
            items.append((items[0][0], _value(rng, 3)))
        members = [f"{ws()}{json.dumps(k, ensure_ascii=rng.random() < 0.3)}{ws()}:{ws()}{_text(rng, v)}{ws()}"
                   for k, v in items]  # fmt: skip
        return "{" + ws() + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ws() + ",".join(ws() + _text(rng, v) + ws() for v in value) + ws() + "]"
    return json.dumps(value, ensure_ascii=rng.random() < 0.3)


def _paths(value: Any, prefix: str = "") -> list[str]:
    out = [prefix] if prefix else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        out += _paths(item, f"{prefix}.{key}" if prefix else str(key))
    return out


@pytest.mark.parametrize("name", ["json_pick", "redact"])
def test_transforms_give_the_texts_at_their_paths(built, name: str) -> None:
    transform, expected = Transform(name), {"json_pick": expected_pick, "redact": expected_redact}[name]
    rng = random.Random(35)
    for _ in range(600):
        value = _value(rng)
        if name == "json_pick" and isinstance(value, str):
            value = [value]  # json_pick reads a document given as a string as the JSON text it holds
        doc = _text(rng, value)
        if doc[0] in "{[" and rng.random() < 0.5:  # past 1,024 code units all paths are found in one walk
            doc = doc[0] + "\n" * 1100 + doc[1:]
        known = _paths(value)
        paths = rng.sample(known, min(len(known), rng.randint(0, 4)))
        paths += rng.sample(["zz", "a.0", "0.0", "a.b.c", "1", "a..b", "é.🦊"], rng.randint(0, 2))
        if name == "json_pick" and rng.random() < 0.1:
            paths.append("")  # the whole document
        as_string = name == "json_pick" and rng.random() < 0.2  # an HTTP body, say
        given = json.dumps(doc) if as_string else doc
        members = [f'"document": {given}', f'"paths": {json.dumps(paths, ensure_ascii=False)}']
        if rng.random() < 0.3:
            members.reverse()
        assert transform("{" + ", ".join(members) + "}") == expected(doc, paths), (doc, paths)


def test_json_pick_on_a_megabyte(built) -> None:
    rng = random.Random(7)
    items = [{"id": i, "name": f"item-{i}", "tags": [rng.choice("abcdef") for _ in range(5)]} for i in range(20_000)]
    doc = json.dumps({"items": items, "total": len(items)})
    paths = ["total", "items.0.name", "items.10000.tags.4", "items.19999.id", "items.20000", "nothing"]
    given = '{"document": ' + doc + ', "paths": ' + json.dumps(paths) + "}"
    assert len(given) > 1_000_000
    assert Transform("json_pick")(given) == expected_pick(doc, paths)
