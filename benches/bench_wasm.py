"""WASM runtime costs, each beside its reference in the same run:

- per-call overhead of an AssemblyScript activity through WasmExecutor vs bare wasmtime-py calls of the same export
  (fresh instance per call, as Loom isolates calls; and one reused instance, the floor). Goal: within 1.3x of the
  fresh-instance reference.
- warm start from the on-disk module cache vs a cold compile. Goal: 20x faster or better.
- the shipped transforms on 1 MB vs the same transform in Python (its C json module and str methods), each reading
  the JSON the activity reads and answering the data the executor answers: json_pick (pick four paths), redact
  (three paths, the document written back) and http_parse (a response with a 1 MB body). Goal: within 2x.
- per-call overhead of a WASI command (stdin to stdout) vs the alloc/run ABI, both echoing their input.
- an HTTP request through loom_http (http_fetch) vs the same request with Python's http.client. Goal: within 1.3x.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from pipeline.activities import register_module
from pipeline.core import ActivityDefinition, Capabilities, HttpGrant, Limits, artifact
from pipeline.sandbox import Engine, ModuleCache, WasiExecutor, WasmExecutor
from pipeline.store import ActivityRegistry, MemoryBlobStore

PICK = artifact("activities/json_pick.wasm")
SMALL = {"document": {"a": {"b": [1, 2, 3]}}, "paths": ["a.b.2"]}
SMALL_TEXT = json.dumps(SMALL)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    blobs = MemoryBlobStore()
    defn = register_module(
        PICK.read_bytes(),
        name="json-pick",
        version="1.0.0",
        runtime="assemblyscript",
        limits=Limits(fuel=10**11, wall_clock_ms=60_000),  # 1 MB inputs need more than the defaults
        blobs=blobs,
        registry=ActivityRegistry(root / "r.sqlite"),
    )
    executor = WasmExecutor(blobs, cache_dir=root / "modules")
    executor.run(defn, SMALL)  # warm: compiled and pre-linked
    return executor, defn, root


def _bare_call(store: wasmtime.Store, exports, text: str) -> str:
    data = text.encode("utf-16-le")
    ptr = exports["__new"](store, len(data), 2)
    exports["memory"].write(store, data, ptr)
    exports["__pin"](store, ptr)
    out = exports["run"](store, ptr)
    exports["__unpin"](store, ptr)
    size = int.from_bytes(exports["memory"].read(store, out - 4, out), "little")
    return exports["memory"].read(store, out, out + size).decode("utf-16-le")


@pytest.fixture(scope="module")
def bare():
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, PICK.read_bytes())
    linker = wasmtime.Linker(engine)
    linker.define_func("env", "abort", wasmtime.FuncType([wasmtime.ValType.i32()] * 4, []), lambda *a: None)
    return engine, module, linker


@pytest.mark.benchmark(group="call overhead")
def test_call_loom_executor(benchmark, setup) -> None:
    executor, defn, _ = setup
    assert benchmark(executor.run, defn, SMALL) == {"a.b.2": 3}


@pytest.mark.benchmark(group="call overhead")
def test_call_bare_wasmtime_fresh_instance(benchmark, bare) -> None:
    engine, module, linker = bare

    def call() -> dict:
        store = wasmtime.Store(engine)
        exports = linker.instantiate(store, module).exports(store)
        return json.loads(_bare_call(store, exports, json.dumps(SMALL)))

    assert benchmark(call) == {"a.b.2": 3}


@pytest.mark.benchmark(group="call overhead")
def test_call_bare_wasmtime_reused_instance(benchmark, bare) -> None:
    engine, module, linker = bare
    store = wasmtime.Store(engine)
    exports = linker.instantiate(store, module).exports(store)
    assert benchmark(lambda: json.loads(_bare_call(store, exports, json.dumps(SMALL)))) == {"a.b.2": 3}


@pytest.mark.benchmark(group="module load")
def test_load_cold_compile(benchmark) -> None:
    engine, wasm = Engine(), artifact("activities/http_parse.wasm").read_bytes()
    benchmark(lambda: ModuleCache(engine, None).get("x", wasm))


@pytest.mark.benchmark(group="module load")
def test_load_warm_from_disk_cache(benchmark, tmp_path: Path) -> None:
    engine, wasm = Engine(), artifact("activities/http_parse.wasm").read_bytes()
    ModuleCache(engine, tmp_path).get("x", wasm)

    def load() -> None:
        cache = ModuleCache(engine, tmp_path)
        cache.get("x", wasm)
        assert cache.stats["disk"] == 1

    benchmark(load)


def _megabyte_document() -> dict:
    rng = random.Random(7)
    items = [
        {
            "id": i,
            "name": f"item-{i}",
            "tags": [rng.choice("abcdef") for _ in range(5)],
            "price": round(rng.random() * 100, 2),
            "meta": {"ok": bool(i % 2), "rank": rng.randint(0, 999)},
        }
        for i in range(9000)
    ]
    return {"items": items, "total": len(items)}


MB_DOC = _megabyte_document()
MB_TEXT = json.dumps(MB_DOC).encode()
MB_PATHS = ["total", "items.0.name", "items.3500.meta.rank", "items.8999.tags.4"]


@pytest.mark.benchmark(group="json_pick 1 MB")
def test_json_pick_wasm_1mb(benchmark, setup) -> None:
    executor, defn, _ = setup
    payload = b'{"document": ' + MB_TEXT + b', "paths": ' + json.dumps(MB_PATHS).encode() + b"}"
    assert len(MB_TEXT) > 1_000_000
    result = benchmark(executor.run, defn, payload)
    assert result == _python_pick(MB_TEXT, MB_PATHS)


@pytest.mark.benchmark(group="json_pick 1 MB")
def test_json_pick_python_1mb(benchmark) -> None:
    benchmark(_python_pick, MB_TEXT, MB_PATHS)


def _python_pick(text: bytes, paths: list[str]) -> dict:
    doc = json.loads(text)
    return {path: _at(doc, path.split(".")) for path in paths}


def _at(node: Any, keys: list[str]) -> Any:
    for key in keys:
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _transform(setup, builtin: str) -> ActivityDefinition:
    """A shipped AssemblyScript transform registered beside json_pick, with limits for megabyte inputs."""
    executor, defn, root = setup
    return register_module(
        artifact(f"activities/{builtin}.wasm").read_bytes(),
        name=builtin.replace("_", "-"),
        version="1.0.0",
        runtime="assemblyscript",
        limits=defn.limits,
        blobs=executor.blobs,
        registry=ActivityRegistry(root / "r.sqlite"),
    )


REDACT_PATHS = ["items.3.name", "items.8000.meta", "total"]


@pytest.mark.benchmark(group="redact 1 MB")
def test_redact_wasm_1mb(benchmark, setup) -> None:
    executor, _, _ = setup
    defn = _transform(setup, "redact")
    payload = b'{"document": ' + MB_TEXT + b', "paths": ' + json.dumps(REDACT_PATHS).encode() + b"}"
    result = benchmark(executor.run, defn, payload)
    assert result == _python_redact(MB_TEXT, REDACT_PATHS)


@pytest.mark.benchmark(group="redact 1 MB")
def test_redact_python_1mb(benchmark) -> None:
    benchmark(_python_redact, MB_TEXT, REDACT_PATHS)


def _python_redact(text: bytes, paths: list[str]) -> dict:
    """The document with each path's value replaced, as data (what a caller of redact reads back)."""
    doc = json.loads(text)
    for path in paths:
        *parents, last = path.split(".")
        node = _at(doc, parents)
        node[int(last) if isinstance(node, list) else last] = "[redacted]"
    return doc


HTTP_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nX-Request-Id: 7\r\n\r\n" % len(MB_TEXT)
    + MB_TEXT
)


HTTP_INPUT = json.dumps({"message": HTTP_RESPONSE.decode()}).encode()


@pytest.mark.benchmark(group="http_parse 1 MB")
def test_http_parse_wasm_1mb(benchmark, setup) -> None:
    executor, _, _ = setup
    defn = _transform(setup, "http_parse")
    result = benchmark(executor.run, defn, HTTP_INPUT)
    assert result == _python_http_parse(HTTP_INPUT)


@pytest.mark.benchmark(group="http_parse 1 MB")
def test_http_parse_python_1mb(benchmark) -> None:
    benchmark(_python_http_parse, HTTP_INPUT)


def _python_http_parse(document: bytes) -> dict:
    """http_parse's answer for a response framed by Content-Length, from the activity's own input: the message read
    out of the JSON (as the activity must), then str methods (Content-Length counts bytes)."""
    message = json.loads(document)["message"]
    head, _, rest = message.partition("\r\n\r\n")
    lines = head.split("\r\n")
    version, status, reason = lines[0].split(" ", 2)
    headers = [[name, value.strip()] for name, _, value in (line.partition(":") for line in lines[1:])]
    length = int(next(value for name, value in headers if name.lower() == "content-length"))
    return {
        "kind": "response",
        "version": version,
        "status": int(status),
        "reason": reason,
        "headers": headers,
        "body": rest.encode()[:length].decode(),
    }


# The same transform, output = input, through each ABI: what remains is each one's per-call overhead.
ECHO_ALLOC_RUN = """(module
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 1024))
  (func (export "alloc") (param $len i32) (result i32)
    (global.get $next) (global.set $next (i32.add (global.get $next) (local.get $len))))
  (func (export "dealloc") (param i32 i32))
  (func (export "run") (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32)) (i64.extend_i32_u (local.get $len)))))"""
ECHO_WASI = """(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 65536))
    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"""


@pytest.fixture(scope="module")
def echoes(tmp_path_factory):
    root = tmp_path_factory.mktemp("echo")
    blobs, registry = MemoryBlobStore(), ActivityRegistry(root / "r.sqlite")
    executor = WasmExecutor(blobs, cache_dir=root / "modules")
    alloc_run = register_module(
        wasmtime.wat2wasm(ECHO_ALLOC_RUN),
        name="echo-alloc-run",
        version="1.0.0",
        runtime="wasm",
        blobs=blobs,
        registry=registry,
    )
    wasi = register_module(
        wasmtime.wat2wasm(ECHO_WASI), name="echo-wasi", version="1.0.0", runtime="wasi", blobs=blobs, registry=registry
    )
    wasi_executor = WasiExecutor.beside(executor)
    assert executor.run(alloc_run, SMALL) == wasi_executor.run(wasi, SMALL) == SMALL  # warm: compiled, linked
    return executor, alloc_run, wasi_executor, wasi


@pytest.mark.benchmark(group="echo call: WASI vs alloc/run")
def test_wasi_echo_stdio(benchmark, echoes) -> None:
    _, _, wasi_executor, wasi = echoes
    assert benchmark(wasi_executor.run, wasi, SMALL) == SMALL


@pytest.mark.benchmark(group="echo call: WASI vs alloc/run")
def test_wasi_echo_reference_alloc_run(benchmark, echoes) -> None:
    executor, alloc_run, _, _ = echoes
    assert benchmark(executor.run, alloc_run, SMALL) == SMALL


# loom_http: a request through the host function (the shipped http_fetch activity: its call, the grant's checks, the
# response copied into the guest and back) against the same request made with Python's http.client, to one local
# server in the same run. Goal: within 1.3x.
QUOTE = json.dumps({"pair": "ETH/USD", "price": {"usd": 3125.5}}).encode()


class _Quote(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(QUOTE)))
        self.end_headers()
        self.wfile.write(QUOTE)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def quote_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Quote)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.benchmark(group="http request")
def test_http_through_loom(benchmark, quote_server: int, tmp_path: Path) -> None:
    blobs = MemoryBlobStore()
    defn = register_module(
        artifact("activities/http_fetch.wasm").read_bytes(),
        name="fetch",
        version="1.0.0",
        runtime="assemblyscript",
        capabilities=Capabilities(
            host_functions=("loom_http",), http=HttpGrant(hosts=(f"127.0.0.1:{quote_server}",), plain_http=True)
        ),
        blobs=blobs,
        registry=ActivityRegistry(tmp_path / "r.sqlite"),
    )
    executor = WasmExecutor(blobs, cache_dir=tmp_path / "modules")
    request = {"url": f"http://127.0.0.1:{quote_server}/quote"}
    executor.run(defn, request)  # warm: compiled and pre-linked
    response = benchmark(executor.run, defn, request)
    assert response["status"] == 200 and response["body"].encode() == QUOTE


@pytest.mark.benchmark(group="http request")
def test_http_python_client(benchmark, quote_server: int) -> None:
    def fetch() -> bytes:  # a new connection per request, as Loom makes
        conn = http.client.HTTPConnection("127.0.0.1", quote_server, timeout=10)
        try:
            conn.request("GET", "/quote")
            reply = conn.getresponse()
            assert reply.status == 200
            return reply.read()
        finally:
            conn.close()

    assert benchmark(fetch) == QUOTE
