"""Hostile Extism plugins: the one memory cap reaches their tables too (the SDK's max_pages does not), a plugin
gets one memory, and outputs have their cap."""

from __future__ import annotations

import resource

import pytest
import wasmtime

from pipeline import errors
from pipeline.activities import register_module
from pipeline.core import Limits
from pipeline.sandbox import ExtismExecutor
from pipeline.store import default_blobstore, default_registry

pytest.importorskip("extism")  # the optional extra; make installs it, so CI runs these

# run() grows its table by 50M entries (~400 MB on the host) and returns 1 when the grow is refused.
TABLE_BOMB = """(module (memory (export "memory") 1) (table $t 1 funcref)
  (func (export "run") (result i32)
    (i32.eq (table.grow $t (ref.null func) (i32.const 50000000)) (i32.const -1))))"""


def _register(wat: str, name: str, limits: Limits = Limits()):
    return register_module(
        wasmtime.wat2wasm(wat),
        name=name,
        version="1.0.0",
        runtime="extism",
        limits=limits,
        blobs=default_blobstore(),
        registry=default_registry(),
    )


def test_table_growth_in_a_plugin_is_bounded_by_its_memory_cap() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    defn = _register(TABLE_BOMB, "table-bomb", Limits(memory_mib=4))
    with pytest.raises(errors.ActivityTrapped, match=r"returned 1|code 1|failed"):
        ExtismExecutor(default_blobstore()).run(defn, {})
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before < 100


def test_a_plugin_whose_table_starts_above_its_cap_is_refused() -> None:
    defn = _register(
        '(module (memory (export "memory") 1) (table 10000000 funcref) '
        '(func (export "run") (result i32) (i32.const 0)))',
        "big-table",
        Limits(memory_mib=1),
    )
    with pytest.raises(errors.ActivityOutOfMemory, match="table 0 starts at 10000000"):
        ExtismExecutor(default_blobstore()).run(defn, {})


def test_a_plugin_that_asks_for_wasi_is_a_typed_refusal() -> None:
    wat = """(module (import "wasi_snapshot_preview1" "environ_sizes_get" (func $e (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "run") (result i32) (drop (call $e (i32.const 0) (i32.const 4))) (i32.const 0)))"""
    defn = _register(wat, "wants-wasi")
    with pytest.raises(errors.InvalidModule, match=r"environ_sizes_get.*without WASI"):
        ExtismExecutor(default_blobstore()).run(defn, {})


# A plugin written against Extism's kernel by hand: it calls http_request with offsets of its choosing (no block
# there, or a block that is no request), then reads the status and headers Loom's functions give.
RAW_HTTP = """(module
  (import "extism:host/env" "http_request" (func $req (param i64 i64) (result i64)))
  (import "extism:host/env" "http_status_code" (func $status (result i32)))
  (import "extism:host/env" "http_headers" (func $headers (result i64)))
  (memory (export "memory") 1)
  (func (export "run") (result i32)
    (drop (call $req (i64.const {request}) (i64.const {body})))
    (drop (call $headers))
    (call $status)))"""


@pytest.mark.parametrize(("request_", "body"), [(123456, 0), (0, 0), (-1, -1), (1, 99999999)])
def test_extisms_http_imports_are_loom_s_and_refuse_what_is_no_request(request_: int, body: int) -> None:
    """The imports are re-pointed at Loom's functions whatever the plugin: not granted, CapabilityDenied; granted,
    an offset that holds no request is a typed InvalidInput; never a traceback or a request sent."""
    from pipeline.core import Capabilities, HttpGrant

    wat = RAW_HTTP.format(request=request_, body=body)
    bare = _register(wat, "raw-http")
    with pytest.raises(errors.CapabilityDenied, match="loom_http, which it was not granted"):
        ExtismExecutor(default_blobstore()).run(bare, {})
    granted = register_module(
        wasmtime.wat2wasm(wat), name="raw-http", version="1.0.1", runtime="extism",
        capabilities=Capabilities(host_functions=("loom_http",), http=HttpGrant(hosts=("127.0.0.1:9",))),
        blobs=default_blobstore(), registry=default_registry(),
    )  # fmt: skip
    with pytest.raises(errors.InvalidInput, match="Extism's http_request"):
        ExtismExecutor(default_blobstore()).run(granted, {})
