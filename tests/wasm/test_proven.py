"""Wasm activities in the zkVM (the wasm-exec guest, wasmi inside RISC Zero), executed without proving: the output is
the one wasmtime gives, the journal names the module and the input, and a hostile module is stopped by its limits
inside the guest with the error wasmtime would give. (The real proofs are in tests/pipelines/test_proven_wasm.py.)"""

from __future__ import annotations

import hashlib

import pytest

from pipeline import errors
from pipeline.activities import execute_proven_wasm, resolve
from pipeline.core import Capabilities, Limits
from pipeline.sandbox import encode_document
from pipeline.store import ActivityRegistry, FileBlobStore
from tests.support.assemblyscript import WRAP, compile_assemblyscript
from tests.support.wat import GET_SECRET, LOG, LOG_BODY, SECRET_BODY, rust_abi_module

SHIPPED = {
    "json-pick": [
        {"document": {"a": {"b": [1, "é☃", {"c": None}]}, "z": "ü"}, "paths": ["a.b.1", "a.b.2.c", "nope", "z"]},
        {"document": '{"price": 12.5, "name": "Zoë 🦊"}', "paths": ["name", "price"]},
        {"document": [[], {}, "\u2028"], "paths": ["0", "2", "9"]},
    ],
    "http-parse": [
        {"message": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhéllo"},
        {"message": "GET /ünï?q=☃ HTTP/1.1\r\nHost: example.com\r\n\r\n"},
        {"message": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"},
    ],
    "redact": [
        {"document": {"user": {"email": "a@b.c", "name": "Zoë"}, "token": "t"}, "paths": ["user.email", "token"]},
        {"document": {"z": 1, "a": ["κόσμε", 2]}, "paths": ["a.0", "missing"]},
    ],
    "counter": [{"add": 41}, {"add": -7}],
    "echo": [{"hello": "wörld", "n": [1.5, -2, 1e300, True, None]}, {"emoji": "🦊" * 40, "nested": {"k": [[], {}]}}],
}


@pytest.mark.parametrize(("name", "document"), [(n, d) for n, docs in SHIPPED.items() for d in docs])
def test_shipped_activity_gives_the_wasmtime_output(name: str, document: object, executor, blobs, registry) -> None:
    defn = resolve(registry, blobs, name)
    run, execution = execute_proven_wasm(defn, document, blobs)
    assert run.output == executor.run(defn, document)
    assert run.module_sha256 == defn.blob  # the registered blob is the module the guest ran
    assert run.input_sha256 == hashlib.sha256(encode_document(document, defn)).hexdigest()
    assert run.fuel_used > 0 and execution.user_cycles > 0


def test_a_granted_secret_is_used_but_only_its_name_is_committed(
    executor, blobs: FileBlobStore, registry: ActivityRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOM_SECRET_hmac_key", "s3cret-välue")
    defn = resolve(registry, blobs, "hmac")
    document = {"text": "ünïcode ☃"}
    run, execution = execute_proven_wasm(defn, document, blobs)
    assert run.output == executor.run(defn, document)
    assert run.secrets == ["hmac_key"]
    assert b"s3cret" not in execution.journal and "välue".encode() not in execution.journal


def test_an_assemblyscript_module_of_the_stub_runtime(executor, define) -> None:
    defn = define(compile_assemblyscript(WRAP), "assemblyscript")
    document = {"words": ["é", "🦊"]}
    run, _ = execute_proven_wasm(defn, document, executor.blobs)
    length = 22  # UTF-16 units of the input's JSON text: the fox is two
    assert run.output == executor.run(defn, document) == {"wrapped": document, "length": length}


LOOP = "(loop $l (br $l)) (i64.const 0)"
GROW_UNTIL_FAIL = "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable"
RECURSE = "(call $run (local.get $ptr) (local.get $len))"
STATE = '(import "loom" "state_get" (func $state_get (param i32 i32) (result i64)))'
STATE_BODY = "(call $state_get (i32.const 16) (i32.const 1))"
NOT_JSON = "(i64.const 5)"  # five bytes at address 0: zeros
HUGE_OUTPUT = "(i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 0x200000))"


def returning(text: bytes) -> bytes:
    """A module whose output is ``text`` (its data at address 16)."""
    body = f"(i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const {len(text)}))"
    return rust_abi_module(body, data="".join(f"\\{b:02x}" for b in text))


HOSTILE = {
    "loop": (rust_abi_module(LOOP), Limits(fuel=200_000), errors.ActivityOutOfFuel, "fuel"),
    "memory-bomb": (rust_abi_module(GROW_UNTIL_FAIL), Limits(memory_mib=4), errors.ActivityOutOfMemory, "memory"),
    "initial-memory": (rust_abi_module(pages=128), Limits(memory_mib=4), errors.ActivityOutOfMemory, "limit"),
    "recursion": (rust_abi_module(RECURSE), None, errors.ActivityTrapped, "stack"),
    "trap": (rust_abi_module("unreachable"), None, errors.ActivityTrapped, "unreachable"),
    "secret": (rust_abi_module(SECRET_BODY, GET_SECRET, "not_given"), None, errors.CapabilityDenied, "not granted"),
    "log": (rust_abi_module(LOG_BODY, LOG, "hello"), None, errors.CapabilityDenied, "loom.log"),
    "state": (rust_abi_module(STATE_BODY, STATE), None, errors.CapabilityDenied, "state"),
    "not-json": (rust_abi_module(NOT_JSON), None, errors.InvalidOutput, "not JSON"),
    "output": (rust_abi_module(HUGE_OUTPUT, pages=64), Limits(output_mib=1), errors.OutputTooLarge, "limit"),
    "surrogate": (returning(b'["\\ud800"]'), None, errors.InvalidOutput, "lone UTF-16 surrogate"),
    "trailing": (returning(b'{"a": 1} and more'), None, errors.InvalidOutput, "not JSON"),
    "huge-number": (returning(b"[1e999]"), None, errors.InvalidOutput, "too large for a double"),
}


@pytest.mark.parametrize(("module", "limits", "error", "says"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_module_is_stopped_inside_the_guest(
    module: bytes, limits: Limits | None, error: type, says: str, executor, define
) -> None:
    defn = define(module, limits=limits)
    with pytest.raises(error, match=says) as refused:
        execute_proven_wasm(defn, {"a": 1}, executor.blobs)
    assert "wasm-exec" in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(error):  # wasmtime refuses it the same way
        executor.run(defn, {"a": 1})


def test_logging_is_accepted_when_granted_and_dropped(executor, define) -> None:
    granted = Capabilities(host_functions=("loom_log",))
    defn = define(rust_abi_module(LOG_BODY, imports=LOG, data="hello"), capabilities=granted)
    run, _ = execute_proven_wasm(defn, {"a": 1}, executor.blobs)
    assert run.output == executor.run(defn, {"a": 1}) == {"a": 1}


def test_risc0_and_extism_activities_are_not_run_in_the_wasm_guest(blobs, registry) -> None:
    with pytest.raises(errors.InvalidInput, match="only assemblyscript and wasm activities"):
        execute_proven_wasm(resolve(registry, blobs, "hello"), {"words": [1]}, blobs)


def test_the_cli_refuses_what_it_cannot_prove_on_one_line(tmp_path) -> None:
    """Each refusal comes before anything is proven: a module that loops is stopped in the plan's execution."""
    from tests.support import loom, one_error_line

    (tmp_path / "loop.wasm").write_bytes(rust_abi_module(LOOP))
    env = {"LOOM_HOME": str(tmp_path / "home")}
    register = ("activity", "register", str(tmp_path / "loop.wasm"), "--name", "loop", "--version", "1.0.0")
    assert loom(*register, "--runtime", "wasm", "--fuel", "100000", env=env).returncode == 0
    cases = [
        (("echo", "--kind", "succinct"), 2, "--kind and --segment-po2 are for --prove"),
        (("json-canon", "--prove"), 2, "only assemblyscript and wasm activities"),
        (("loop", "--prove"), 3, "loop@1.0.0 (proven in wasm-exec): used all its fuel (100000 units"),
    ]
    for args, code, says in cases:
        refused = loom("activity", "run", *args, "-i", "{}", env=env)
        assert refused.returncode == code and says in one_error_line(refused), (args, refused.stderr)


@pytest.mark.parametrize(
    ("module", "limits", "error"),
    [
        (returning(b'["\\ud800"]'), None, "InvalidOutput"),
        (rust_abi_module(LOOP), Limits(fuel=100_000), "ActivityOutOfFuel"),
    ],
    ids=["surrogate", "loop"],
)
def test_a_proven_step_that_fails_fails_once_before_anything_is_proven(
    module: bytes, limits: Limits | None, error: str
) -> None:
    """Executed first: the step fails at once with the typed error, is never retried, and no proof is attempted."""
    from pipeline.activities import register_module
    from pipeline.flow import PipelineSpec, Runner
    from pipeline.store import default_journal

    register_module(module, name="hostile", version="1.0.0", runtime="wasm", limits=limits)
    spec = PipelineSpec.model_validate(
        {"name": "p", "steps": {"s": {"activity": "hostile@1.0.0", "input": {}, "prove": {"segment_po2": 16}}}}
    )
    events: list[object] = []
    result = Runner().run(spec, {}, events=lambda step, event, details: events.append(event))
    assert result.status == "failed" and error in (result.error or "")
    assert [a.status for a in default_journal().attempts(result.run_id)] == ["failed"]
    assert "progress" not in events  # not one segment was proven
