"""Extism plugins as activities: same grants, limits and errors as wasm activities; an optional extra."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time

import pytest
import wasmtime

from pipeline import errors
from pipeline.activities import Executors, register_builtins, register_module
from pipeline.core import HMAC_GRANTS, Limits
from pipeline.flow import PipelineSpec, Runner
from pipeline.sandbox import ExtismExecutor
from pipeline.store import default_blobstore, default_registry

DOC = {"order": 42, "items": ["a", "b"]}


@pytest.fixture
def registered(built, monkeypatch):
    monkeypatch.setenv("LOOM_SECRET_hmac_key", "s3cret")
    register_builtins(default_blobstore(), default_registry())
    return default_registry()


def _expected(document: bytes) -> dict:
    return {"hmac": hmac.new(b"s3cret", document, hashlib.sha256).hexdigest(), "bytes": len(document)}


def test_plugin_and_assemblyscript_activity_agree(registered) -> None:
    """One transform in three runtimes: an Extism plugin, AssemblyScript, and Rust with loom-guest (secret, log)."""
    lines: list[tuple[str, str]] = []
    data = json.dumps(DOC).encode()
    executors = Executors(default_blobstore())
    outputs = [
        executors.run(registered.resolve(name), data, log=lambda *line: lines.append(line))
        for name in ("hmac-plugin", "hmac", "hmac-rust")
    ]
    assert outputs == [_expected(data)] * 3
    assert lines == [("info", f"signed {len(data)} bytes")] * 3


def test_a_rust_activity_refuses_its_input_through_loom_guest(registered, monkeypatch) -> None:
    """loom_guest::fail: the secret granted but unset is the activity's refusal (ActivityRejected), with its reason."""
    monkeypatch.delenv("LOOM_SECRET_hmac_key")
    with pytest.raises(errors.ActivityRejected, match="the secret hmac_key is granted but not set"):
        Executors(default_blobstore()).run(registered.resolve("hmac-rust"), DOC)


def test_plugin_runs_as_a_pipeline_step(registered) -> None:
    spec = PipelineSpec.model_validate(
        {
            "name": "sign",
            "steps": {
                "sign": {"activity": "hmac-plugin", "input": "${input}"},
                "check": {"activity": "echo", "input": "${steps.sign.output.hmac}"},
            },
        }
    )
    result = Runner().run(spec, DOC)
    assert result.status == "succeeded", result.error
    assert result.output["sign"] == _expected(json.dumps(DOC, ensure_ascii=False).encode())
    assert result.output["check"]["echo"] == result.output["sign"]["hmac"]


def test_ungranted_secret_is_denied(registered) -> None:
    blobs = default_blobstore()
    defn = registered.resolve("hmac-plugin")
    no_secret = register_module(
        blobs.get(defn.blob),
        name="hmac-nosecret",
        version="1.0.0",
        runtime="extism",
        capabilities=HMAC_GRANTS.model_copy(update={"secrets": ("other",)}),
        blobs=blobs,
        registry=registered,
    )
    with pytest.raises(errors.CapabilityDenied, match="secret 'hmac_key'"):
        ExtismExecutor(blobs).run(no_secret, DOC)
    no_grant = register_module(
        blobs.get(defn.blob), name="hmac-nogrant", version="1.0.0", runtime="extism", blobs=blobs, registry=registered
    )
    with pytest.raises(errors.CapabilityDenied, match="loom_get_secret, which it was not granted"):
        ExtismExecutor(blobs).run(no_grant, DOC)


def test_endless_plugin_stops_at_its_deadline(registered) -> None:
    endless = wasmtime.wat2wasm(
        '(module (memory (export "memory") 1) (func (export "run") (result i32) (loop $l (br $l)) (i32.const 0)))'
    )
    defn = register_module(
        endless,
        name="endless",
        version="1.0.0",
        runtime="extism",
        limits=Limits(wall_clock_ms=300),
        blobs=default_blobstore(),
        registry=registered,
    )
    start = time.monotonic()
    with pytest.raises(errors.ActivityTimeout, match="300 ms"):
        ExtismExecutor(default_blobstore()).run(defn, {})
    assert time.monotonic() - start < 5


def test_without_the_extra_the_error_says_how_to_install_and_the_rest_works(registered, tmp_path) -> None:
    script = """
import sys
sys.modules["extism"] = None  # as if the extra were not installed
from pipeline import errors
from pipeline.activities import Executors
from pipeline.store import default_blobstore
from pipeline.store import default_registry
executors, registry = Executors(default_blobstore()), default_registry()
print(executors.run(registry.resolve("echo"), {"ok": True}))
try:
    executors.run(registry.resolve("hmac-plugin"), {})
except errors.InvalidModule as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "'echo': {'ok': True}" in out
    assert "pip install 'loom-verifiable[extism]'" in out
