"""One wasmtime Engine with fuel and epoch interruption, its wall-clock ticker, and the compiled-module cache.

Compiled modules are cached in memory (LRU) and on disk as serialized artifacts keyed by (wasm sha256, wasmtime
version, engine config), so a config change never loads a stale artifact. Serialized artifacts are native code:
each carries an HMAC with a key private to its cache directory, and only artifacts with a valid HMAC (written by
this cache) are ever deserialized.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
import weakref
from collections import OrderedDict
from importlib.metadata import version
from pathlib import Path

import wasmtime

from pipeline import errors

WASMTIME_VERSION = version("wasmtime")
EPOCH_TICK_MS = 5  # deadline granularity: a call is interrupted at most one tick after its deadline


class Engine:
    """A wasmtime Engine configured for untrusted code, and the fingerprint of that configuration."""

    def __init__(self, *, opt_level: str = "speed") -> None:
        config = wasmtime.Config()
        config.consume_fuel = True
        config.epoch_interruption = True
        config.cranelift_opt_level = opt_level
        config.wasm_wide_arithmetic = True  # 64x64->128-bit products: the TLSNotary verifier's RSA needs them
        self.engine = wasmtime.Engine(config)
        settings = {"wasmtime": WASMTIME_VERSION, "fuel": True, "epochs": True, "opt_level": opt_level,
                    "wide_arithmetic": True}
        self.fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
        weakref.finalize(self, _start_ticker(self.engine).set)


_tickers: list[tuple[threading.Event, threading.Thread]] = []


def _start_ticker(engine: wasmtime.Engine) -> threading.Event:
    """Advances the engine's epoch every tick until the returned event is set.

    The thread holds a strong reference to the wasmtime engine, so the engine cannot be freed under a tick: a
    weak reference is not enough, because CPython runs the engine's finalizer (which frees the native engine
    with the GIL released) before it clears weak references. The owning `Engine` sets the event when it dies.
    """
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(EPOCH_TICK_MS / 1000):
            engine.increment_epoch()

    thread = threading.Thread(target=tick, name="loom-epoch", daemon=True)
    _tickers[:] = [(s, t) for s, t in _tickers if t.is_alive()]
    _tickers.append((stop, thread))
    thread.start()
    return stop


@atexit.register
def _stop_tickers() -> None:
    for stop, thread in _tickers:
        stop.set()
        thread.join(timeout=1)


class ModuleCache:
    """Compiled modules by wasm digest: memory first, then disk, then compile (and store)."""

    def __init__(self, engine: Engine, directory: Path | None, capacity: int = 64) -> None:
        self.engine = engine
        self.directory = Path(directory) if directory else None
        self.capacity = capacity
        self._memory: OrderedDict[str, wasmtime.Module] = OrderedDict()
        self._lock = threading.Lock()
        self._key = self._load_key() if self.directory else b""
        self.stats = {"memory": 0, "disk": 0, "compiled": 0}

    def _load_key(self) -> bytes:
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        key_file = self.directory / ".hmac-key"
        if not key_file.exists():
            fd, tmp = tempfile.mkstemp(dir=self.directory)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, key_file)  # first writer wins; a racing process reads the winner's key
            except FileExistsError:
                pass
            os.unlink(tmp)
        return key_file.read_bytes()

    def artifact_path(self, digest: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{digest}-{self.engine.fingerprint}.cwasm"

    def get(self, digest: str, wasm: bytes) -> wasmtime.Module:
        with self._lock:
            module = self._memory.get(digest)
            if module is not None:
                self._memory.move_to_end(digest)
                self.stats["memory"] += 1
                return module
        module = self._from_disk(digest) or self._compile(digest, wasm)
        with self._lock:
            self._memory[digest] = module
            while len(self._memory) > self.capacity:
                self._memory.popitem(last=False)
        return module

    def _from_disk(self, digest: str) -> wasmtime.Module | None:
        if not self.directory:
            return None
        try:
            blob = self.artifact_path(digest).read_bytes()
        except FileNotFoundError:
            return None
        artifact, tag = blob[:-32], blob[-32:]
        if not hmac.compare_digest(tag, hmac.new(self._key, artifact, "sha256").digest()):
            return None  # not written by this cache (or damaged): never deserialize it
        try:
            module = wasmtime.Module.deserialize(self.engine.engine, artifact)
        except wasmtime.WasmtimeError:
            return None
        self.stats["disk"] += 1
        return module

    def _compile(self, digest: str, wasm: bytes) -> wasmtime.Module:
        try:
            module = wasmtime.Module(self.engine.engine, wasm)
        except wasmtime.WasmtimeError as exc:
            raise errors.InvalidModule(f"not a valid WebAssembly module: {exc}") from None
        self.stats["compiled"] += 1
        if self.directory:
            artifact = module.serialize()
            tag = hmac.new(self._key, artifact, "sha256").digest()
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(artifact + tag)
            os.replace(tmp, self.artifact_path(digest))
        return module
