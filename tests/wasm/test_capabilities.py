"""Host functions are granted per activity; everything not granted is CapabilityDenied."""

from __future__ import annotations

import pytest

from pipeline import errors
from pipeline.core import Capabilities, ChainedSecrets, EnvSecrets, FileSecrets
from pipeline.sandbox import WasmExecutor
from tests.support.wat import GET_SECRET, LOG, LOG_BODY, SECRET_BODY, rust_abi_module


def secret_reader() -> bytes:
    return rust_abi_module(SECRET_BODY, imports=GET_SECRET, data="api_token")


def test_ungranted_host_function_is_denied(executor, define) -> None:
    defn = define(secret_reader())
    with pytest.raises(errors.CapabilityDenied, match="loom_get_secret, which it was not granted"):
        executor.run(defn, {})


def test_secret_not_listed_is_denied(executor, define, monkeypatch) -> None:
    monkeypatch.setenv("LOOM_SECRET_api_token", '{"token": "abc"}')
    defn = define(secret_reader(), capabilities=Capabilities(host_functions=("loom_get_secret",), secrets=("other",)))
    with pytest.raises(errors.CapabilityDenied, match="secret 'api_token'"):
        executor.run(defn, {})


def test_granted_secret_is_readable(executor, define, monkeypatch) -> None:
    monkeypatch.setenv("LOOM_SECRET_api_token", '{"token": "abc"}')
    defn = define(
        secret_reader(), capabilities=Capabilities(host_functions=("loom_get_secret",), secrets=("api_token",))
    )
    assert executor.run(defn, {}) == {"token": "abc"}


def test_file_secrets_and_chaining(blobs, define, tmp_path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "api_token").write_text('"from-file"\n')
    (tmp_path / "secrets" / "api_token").chmod(0o600)  # secret files must be private (see tests/test_secrets_dir.py)
    executor = WasmExecutor(
        blobs, cache_dir=None, secrets=ChainedSecrets(EnvSecrets(), FileSecrets(tmp_path / "secrets"))
    )
    defn = define(
        secret_reader(), capabilities=Capabilities(host_functions=("loom_get_secret",), secrets=("api_token",))
    )
    assert executor.run(defn, {}) == "from-file"


def test_log_goes_to_the_runs_log_when_granted(executor, define) -> None:
    module = rust_abi_module(LOG_BODY, imports=LOG, data="hello")
    lines: list[tuple[str, str]] = []
    granted = define(module, name="logger", capabilities=Capabilities(host_functions=("loom_log",)))
    assert executor.run(granted, {"x": 1}, log=lambda level, msg: lines.append((level, msg))) == {"x": 1}
    assert lines == [("warn", "hello")]
    with pytest.raises(errors.CapabilityDenied):
        executor.run(define(module, name="mute"), {"x": 1})


def test_unknown_import_is_an_invalid_module(executor, define) -> None:
    module = rust_abi_module(
        imports='(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))'
    )
    with pytest.raises(errors.InvalidModule, match="fd_write"):
        executor.run(define(module), {})


def test_extism_plugin_must_be_registered_as_extism(define) -> None:
    module = rust_abi_module(imports='(import "extism:host/env" "output_set" (func (param i64 i64)))')
    with pytest.raises(errors.InvalidModule, match="runtime 'extism'"):
        define(module, "wasm")
