"""Compiled modules are cached on disk across processes, keyed by engine config; foreign artifacts never load."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from pipeline.blobstore import FileBlobStore
from pipeline.wasm import WasmExecutor
from pipeline.wasm.engine import Engine

RUN_ONCE = """
import json, sys
from pathlib import Path
from pipeline.blobstore import FileBlobStore
from pipeline.models import ActivityDefinition
from pipeline.wasm import WasmExecutor
root = Path(sys.argv[1])
executor = WasmExecutor(FileBlobStore(root / "blobs"), cache_dir=root / "modules")
defn = ActivityDefinition.model_validate_json(sys.argv[2])
out = executor.run(defn, {"n": 1})
print(json.dumps({"out": out, "stats": executor.modules.stats}))
"""


def _fresh_process(root: Path, defn) -> dict:  # noqa: ANN001
    result = subprocess.run([sys.executable, "-c", RUN_ONCE, str(root), defn.model_dump_json()],
                            capture_output=True, text=True, check=True)
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
