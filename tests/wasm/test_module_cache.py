"""Compiled modules are cached on disk across processes, keyed by engine config; foreign artifacts never load."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline import errors
from pipeline.core import ActivityDefinition
from pipeline.sandbox import WasmExecutor
from pipeline.sandbox._engine import Engine, ModuleCache, artifact_tag
from pipeline.store import FileBlobStore
from tests.support.wat import rust_abi_module

RUN_ONCE = """
import json, sys
from pathlib import Path
from pipeline.store import FileBlobStore
from pipeline.core import ActivityDefinition
from pipeline.sandbox import WasmExecutor
root = Path(sys.argv[1])
executor = WasmExecutor(FileBlobStore(root / "blobs"), cache_dir=root / "modules")
defn = ActivityDefinition.model_validate_json(sys.argv[2])
out = executor.run(defn, {"n": 1})
print(json.dumps({"out": out, "stats": executor.modules.stats}))
"""


def _fresh_process(root: Path, defn) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", RUN_ONCE, str(root), defn.model_dump_json()], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_disk_cache_survives_a_new_process(define, built, tmp_path) -> None:
    defn = define(built / "wasm" / "echo.wasm")
    first = _fresh_process(tmp_path, defn)
    second = _fresh_process(tmp_path, defn)
    assert first["stats"] == {"memory": 0, "disk": 0, "compiled": 1}
    assert second["stats"] == {"memory": 0, "disk": 1, "compiled": 0}
    assert first["out"] == second["out"] == {"bytes": 8, "echo": {"n": 1}}


def test_config_change_does_not_load_a_stale_artifact(define, built, tmp_path) -> None:
    defn = define(built / "wasm" / "echo.wasm")
    blobs = FileBlobStore(tmp_path / "blobs")
    fast = WasmExecutor(blobs, cache_dir=tmp_path / "modules", engine=Engine(opt_level="speed"))
    fast.run(defn, {})
    plain = WasmExecutor(blobs, cache_dir=tmp_path / "modules", engine=Engine(opt_level="none"))
    assert plain.run(defn, {}) == {"bytes": 2, "echo": {}}
    assert plain.modules.stats == {"memory": 0, "disk": 0, "compiled": 1}
    assert len(list((tmp_path / "modules").glob("*.cwasm"))) == 2


def test_tampered_artifact_is_recompiled_not_loaded(define, built, tmp_path) -> None:
    defn = define(built / "wasm" / "echo.wasm")
    blobs = FileBlobStore(tmp_path / "blobs")
    WasmExecutor(blobs, cache_dir=tmp_path / "modules").run(defn, {})
    (artifact,) = (tmp_path / "modules").glob("*.cwasm")
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0x01
    artifact.write_bytes(bytes(data))
    again = WasmExecutor(blobs, cache_dir=tmp_path / "modules")
    assert again.run(defn, {"ok": True}) == {"bytes": 12, "echo": {"ok": True}}
    assert again.modules.stats == {"memory": 0, "disk": 0, "compiled": 1}


def test_memory_cache_serves_repeated_runs(executor, define, built) -> None:
    defn = define(built / "wasm" / "echo.wasm")
    for _ in range(3):
        executor.run(defn, {})
    assert executor.modules.stats["compiled"] == 1


def test_engines_come_and_go_without_crashing_their_tickers():
    """Each Engine has an epoch ticker thread that keeps its wasmtime engine alive (a weak reference let a tick
    race the engine's finalizer: a segfault in CI); dropping the Engine must still stop the thread."""
    before = threading.active_count()
    for _ in range(100):
        engine = Engine()
        time.sleep(0.0005)
        del engine
        gc.collect()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() <= before


def _constant(text: str) -> bytes:
    """A module whose output is always ``text`` (JSON without quotes), so two modules tell their code apart."""
    return rust_abi_module(f"(i64.const {16 << 32 | len(text)})", data=text)


def test_artifact_copied_over_another_modules_path_is_refused(define, blobs, tmp_path) -> None:
    """The tag binds an artifact to its module: a valid artifact under another module's name must not run."""
    a, b = define(_constant("[1]"), name="a"), define(_constant("[2]"), name="b")
    first = WasmExecutor(blobs, cache_dir=tmp_path / "modules")
    assert (first.run(a, {}), first.run(b, {})) == ([1], [2])
    shutil.copyfile(first.modules.artifact_path(a.blob), first.modules.artifact_path(b.blob))
    again = WasmExecutor(blobs, cache_dir=tmp_path / "modules")
    assert again.run(b, {}) == [2]
    assert again.modules.stats == {"memory": 0, "disk": 0, "compiled": 1}
    assert again.run(a, {}) == [1]
    assert again.modules.stats == {"memory": 0, "disk": 1, "compiled": 1}


def _empty(key_file: Path, elsewhere: Path) -> bytes:
    key_file.write_bytes(b"")
    return b""


def _world_readable(key_file: Path, elsewhere: Path) -> bytes:
    key_file.chmod(0o644)
    return key_file.read_bytes()


def _symlinked(key_file: Path, elsewhere: Path) -> bytes:
    key_file.rename(elsewhere)
    key_file.symlink_to(elsewhere)
    return elsewhere.read_bytes()


@pytest.mark.parametrize("spoil", [_empty, _world_readable, _symlinked])
def test_untrustworthy_key_file_is_replaced_and_its_artifacts_recompiled(spoil, define, blobs, tmp_path) -> None:
    """A key that is empty, readable by others or a symlink (maybe to a file someone else controls) may be known
    to an attacker: artifacts signed with it are recompiled and a fresh private key replaces it."""
    defn = define(_constant("[3]"))
    cache_dir = tmp_path / "modules"
    first = WasmExecutor(blobs, cache_dir=cache_dir)
    first.run(defn, {})
    key_file, elsewhere = cache_dir / ".hmac-key", tmp_path / "elsewhere-key"
    old_key = spoil(key_file, elsewhere)
    path = first.modules.artifact_path(defn.blob)
    artifact = path.read_bytes()[:-32]
    path.write_bytes(artifact + artifact_tag(old_key, defn.blob, first.engine.fingerprint, artifact))
    again = WasmExecutor(blobs, cache_dir=cache_dir)
    assert again.run(defn, {}) == [3]
    assert again.modules.stats == {"memory": 0, "disk": 0, "compiled": 1}
    st = key_file.lstat()
    assert stat.S_ISREG(st.st_mode) and st.st_mode & 0o077 == 0 and st.st_size == 32
    assert key_file.read_bytes() != old_key
    if elsewhere.exists():
        assert elsewhere.read_bytes() == old_key  # the link was replaced, not written through
    third = WasmExecutor(blobs, cache_dir=cache_dir)
    assert third.run(defn, {}) == [3]
    assert third.modules.stats == {"memory": 0, "disk": 1, "compiled": 0}


def test_cache_directory_is_private(tmp_path) -> None:
    ModuleCache(Engine(), tmp_path / "modules")
    assert (tmp_path / "modules").stat().st_mode & 0o777 == 0o700


def test_a_module_with_two_memories_is_refused(executor, define, blobs) -> None:
    """Memory limits are per linear memory: with multi-memory a module could claim several times its limit. Refused
    at registration, and at execution for a module that reached the store another way."""
    module = rust_abi_module(extra="(memory 1)")
    with pytest.raises(errors.InvalidModule, match="multiple memories"):
        define(module)
    defn = ActivityDefinition(name="two", version="1.0.0", runtime="wasm", blob=blobs.put(module))
    with pytest.raises(errors.InvalidModule, match="multiple memories"):
        executor.run(defn, {})


def test_cache_that_cannot_keep_a_private_key_stays_in_memory(tmp_path, monkeypatch) -> None:
    """If no key file passes the checks (here: every file looks owned by someone else), nothing is signed or
    loaded from disk with a key others may know."""
    real_uid = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: real_uid + 1)
    cache = ModuleCache(Engine(), tmp_path / "modules")
    wasm = _constant("[4]")
    cache.get(hashlib.sha256(wasm).hexdigest(), wasm)
    assert cache.stats == {"memory": 0, "disk": 0, "compiled": 1}
    assert not list((tmp_path / "modules").glob("*.cwasm"))
