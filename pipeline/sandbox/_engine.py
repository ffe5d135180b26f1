"""One wasmtime Engine with fuel and epoch interruption, its wall-clock ticker, and the compiled-module cache.

An engine for calls keeps a pool of instance slots (wasmtime's pooling allocator): a fresh instance takes a slot
whose memory was reset in place when the last call returned (copy-on-write image, the first 8 MiB kept resident), so
a call does not map, fault in and unmap its memory each time, and still starts from the module's initial state.

Compiled modules are cached in memory (LRU) and on disk as serialized artifacts keyed by (wasm sha256, wasmtime
version, engine config), so a config change never loads a stale artifact. Serialized artifacts are native code:
each carries an HMAC, with a key private to its cache directory, over the wasm digest, the engine fingerprint and
the artifact, and only an artifact whose HMAC names the module being loaded (written by this cache for that module)
is ever deserialized.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import os
import resource
import tempfile
import threading
import weakref
from collections import OrderedDict
from importlib.metadata import version
from pathlib import Path

import wasmtime
from wasmtime import _ffi as ffi

from pipeline import errors
from pipeline.core import Capabilities, Limits, private_key
from pipeline.sandbox._budget import MAX_TABLES, MIB, Budget

WASMTIME_VERSION = version("wasmtime")
WasmError = wasmtime.WasmtimeError | wasmtime.Trap
"""What wasmtime raises: since wasmtime-py 50.0.1 a ``Trap`` is its own exception, no longer a ``WasmtimeError``."""
WASM_ERRORS = (wasmtime.WasmtimeError, wasmtime.Trap)
EPOCH_TICK_MS = 5  # deadline granularity: a call is interrupted at most one tick after its deadline

POOL_SLOTS = 32
"""Calls one pooled engine runs at once. A slot reserves address space for a whole 32-bit memory (nothing is
committed until used); a call past them runs in an instance of its own (``WasmExecutor``)."""
POOL_MEMORY_MIB = 1024
"""The largest memory cap (``limits.memory_mib``) whose calls take a pool slot: the slot's tables are sized for
it (``Budget.table_elements``), so a table grows in the pool exactly as far as the cap lets it."""
POOL_KEEP_RESIDENT = 8 << 20
"""Bytes of each slot's memory zeroed in place after a call rather than given back to the kernel (and faulted in
again by the next call): a transform of a megabyte (2 MiB of UTF-16 in, as much out) takes 800-1,700 fewer page
faults per call than with 1 MiB, and a small memory is zeroed only as far as it reaches. Each slot keeps at most this
much resident between calls."""


def loom_config(opt_level: str = "speed", *, pooled: bool = False) -> wasmtime.Config:
    """The wasmtime configuration every Loom engine uses; the fingerprint below must name each setting."""
    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    config.cranelift_opt_level = opt_level
    config.wasm_wide_arithmetic = True  # 64x64->128-bit products: the TLSNotary verifier's RSA needs them
    config.wasm_multi_memory = False  # memory limits are per linear memory: n memories would get n times one
    if pooled:
        _pool_instances(config)
    return config


def _pool_instances(config: wasmtime.Config) -> None:
    largest = Budget.of(Limits(memory_mib=POOL_MEMORY_MIB), Capabilities())
    pool = ffi.wasmtime_pooling_allocation_config_new()
    ffi.wasmtime_pooling_allocation_config_total_memories_set(pool, POOL_SLOTS)
    ffi.wasmtime_pooling_allocation_config_total_core_instances_set(pool, POOL_SLOTS)
    ffi.wasmtime_pooling_allocation_config_total_tables_set(pool, POOL_SLOTS * MAX_TABLES)
    ffi.wasmtime_pooling_allocation_config_max_tables_per_module_set(pool, MAX_TABLES)
    ffi.wasmtime_pooling_allocation_config_table_elements_set(pool, largest.table_elements)
    ffi.wasmtime_pooling_allocation_config_max_memory_size_set(pool, POOL_MEMORY_MIB * MIB)
    ffi.wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool, POOL_KEEP_RESIDENT)
    ffi.wasmtime_pooling_allocation_strategy_set(config.ptr(), pool)  # the config takes the pool's settings
    ffi.wasmtime_pooling_allocation_config_delete(pool)


def pool_fits() -> bool:
    """Whether this process may reserve a pool's address space: not under an address-space limit (``ulimit -v``),
    where wasmtime could not map the pool and would abort the process rather than fail."""
    return resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY


class PoolRefused(Exception):
    """A pooled engine cannot hold this module's instances (its tables or instance state are larger than a slot)."""


def pool_refused(exc: WasmError) -> bool:
    """Whether a pooled engine refused an instance for want of a slot, or a module because it does not fit one: an
    engine without a pool would take it."""
    text = str(exc)
    return "maximum concurrent" in text or "pooling allocator" in text


class Engine:
    """A wasmtime Engine configured for untrusted code, and the fingerprint of that configuration. ``pooled``: its
    instances come from a pool of slots (for calls, not for long-lived actors), where the process may reserve one
    (``pool_fits``; else ``self.pooled`` is false)."""

    def __init__(self, *, opt_level: str = "speed", pooled: bool = False) -> None:
        pooled = pooled and pool_fits()
        self.engine = wasmtime.Engine(loom_config(opt_level, pooled=pooled))
        self.opt_level, self.pooled = opt_level, pooled
        settings = {
            "wasmtime": WASMTIME_VERSION,
            "fuel": True,
            "epochs": True,
            "opt_level": opt_level,
            "wide_arithmetic": True,
            "multi_memory": False,
            "pooled": pooled,
        }
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


TAG_BYTES = 32


def artifact_tag(key: bytes, digest: str, fingerprint: str, artifact: bytes | bytearray) -> bytes:
    """The HMAC that binds an artifact to its module and engine config, so a valid artifact copied to another
    module's path does not verify. Digest and fingerprint are length-prefixed, so no two inputs frame alike."""
    mac = hmac.new(key, b"loom-cwasm-v1", "sha256")
    for field in (digest.encode(), fingerprint.encode()):
        mac.update(len(field).to_bytes(8, "big") + field)
    mac.update(artifact)
    return mac.digest()


class ModuleCache:
    """Compiled modules by wasm digest: memory first, then disk, then compile (and store)."""

    def __init__(self, engine: Engine, directory: Path | None, capacity: int = 64) -> None:
        self.engine = engine
        self.directory = Path(directory) if directory else None
        self.capacity = capacity
        self._memory: OrderedDict[str, wasmtime.Module] = OrderedDict()
        self._lock = threading.Lock()
        self._key = b""
        if self.directory:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._key = private_key(self.directory / ".hmac-key") or b""
            if not self._key:
                self.directory = None  # never sign or trust artifacts with a key others may know: memory only
        self.stats = {"memory": 0, "disk": 0, "compiled": 0}

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
        artifact, tag = blob[:-TAG_BYTES], blob[-TAG_BYTES:]
        if not hmac.compare_digest(tag, artifact_tag(self._key, digest, self.engine.fingerprint, artifact)):
            return None  # not written by this cache for this module (or damaged): never deserialize it
        try:
            module = wasmtime.Module.deserialize(self.engine.engine, artifact)
        except WASM_ERRORS:
            return None
        self.stats["disk"] += 1
        return module

    def _compile(self, digest: str, wasm: bytes) -> wasmtime.Module:
        try:
            module = wasmtime.Module(self.engine.engine, wasm)
        except WASM_ERRORS as exc:
            if self.engine.pooled and pool_refused(exc):
                raise PoolRefused(reason(exc)) from None
            raise errors.InvalidModule(f"not a valid WebAssembly module: {reason(exc)}") from None
        self.stats["compiled"] += 1
        if self.directory:
            self._store(digest, module.serialize())
        return module

    def _store(self, digest: str, artifact: bytes | bytearray) -> None:
        """Writes the signed artifact atomically, so a concurrent reader sees the old file or the new one."""
        assert self.directory is not None
        tag = artifact_tag(self._key, digest, self.engine.fingerprint, artifact)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(artifact + tag)
            os.replace(tmp, self.artifact_path(digest))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def reason(exc: WasmError) -> str:
    """wasmtime's error and its causes on one line ("failed to parse ...: multiple memories (at offset 0xa)")."""
    lines = (line.strip() for line in str(exc).splitlines())
    return ": ".join(line for line in lines if line and line != "Caused by:")
