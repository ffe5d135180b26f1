"""Runs activities compiled to WebAssembly under hard limits, and keeps actors alive between calls.

Each ``run`` gets a fresh instance in a fresh Store (no data survives from one call to the next); an actor keeps
one instance, so its state lives in its own linear memory. Every call gets the activity's fuel, a wall-clock
deadline enforced by epoch interruption, and a memory cap; each way of failing becomes one typed error.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmtime

from pipeline import errors
from pipeline.core import (
    ActivityDefinition,
    SecretProvider,
    check_json,
    default_secrets,
    loom_home,
    parse_json,
    sha256_hex,
)
from pipeline.sandbox import _host as host
from pipeline.sandbox import _snapshot as snapshot
from pipeline.sandbox._abi import ABIS
from pipeline.sandbox._budget import MAX_TABLES, MIB, Budget
from pipeline.sandbox._engine import (
    EPOCH_TICK_MS,
    POOL_MEMORY_MIB,
    WASM_ERRORS,
    Engine,
    ModuleCache,
    PoolRefused,
    pool_refused,
    reason,
)
from pipeline.sandbox._errors import call_failure, instantiation_failure, link_failure, near_memory_limit
from pipeline.sandbox._fastcall import Exports
from pipeline.sandbox._http import Audit
from pipeline.store import BlobStore


def encode_document(document: Any, defn: ActivityDefinition) -> bytes:
    """The input as UTF-8 JSON text, or ``InvalidInput`` saying why it cannot be."""
    if isinstance(document, (bytes, bytearray, memoryview)):
        data = bytes(document)
        check_json(data, "input")
    else:
        try:
            data = json.dumps(document, ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError (a lone surrogate) is a ValueError
            raise errors.InvalidInput(f"input cannot be encoded as JSON: {exc}") from None
    limit = defn.max_input_bytes
    if len(data) > limit:
        raise errors.InvalidInput(
            f"input is {len(data)} bytes; {defn.ref} accepts at most {limit} bytes "
            f"(a quarter of its {defn.limits.memory_mib} MiB memory limit)"
        )
    return data


def decode_output(data: bytes, defn: ActivityDefinition) -> Any:
    """The activity's output as data, or ``InvalidOutput`` (never retried: the same call returns the same bytes)."""
    return parse_json(data, f"the output of {defn.ref}", errors.InvalidOutput)


def epoch_ticks(wall_clock_ms: int) -> int:
    """A call's deadline in engine epochs, rounded up and at least one."""
    return max(1, -(-wall_clock_ms // EPOCH_TICK_MS))


def limited_store(engine: wasmtime.Engine, defn: ActivityDefinition, *, instances: int = 1) -> wasmtime.Store:
    """A store held to ``defn``'s limits: one memory cap over its memory and tables, fuel, and the deadline; one
    instance, the guest's, unless Loom adds its own (a WASI call's shim, which has no memory or table)."""
    store = wasmtime.Store(engine)
    budget = Budget.of(defn.limits, defn.capabilities)
    store.set_limits(
        memory_size=budget.memory_bytes,
        table_elements=budget.table_elements,
        instances=instances,
        tables=MAX_TABLES,
        memories=1,
    )
    store.set_fuel(defn.limits.fuel)
    store.set_epoch_deadline(epoch_ticks(defn.limits.wall_clock_ms))
    return store


class _Call:
    """One call into an instance, with its limits armed and its failures translated."""

    def __init__(
        self, defn: ActivityDefinition, store: wasmtime.Store, exports: Exports, ctx: host.CallContext
    ) -> None:
        self.defn, self.store, self.exports, self.ctx = defn, store, exports, ctx

    def __call__(self, document: bytes) -> bytes:
        limits = self.defn.limits
        self.store.set_fuel(limits.fuel)
        self.store.set_epoch_deadline(epoch_ticks(limits.wall_clock_ms))
        host.enter(self.ctx, limits.wall_clock_ms)
        assert self.ctx.abi is not None
        try:
            return self.ctx.abi.call(self.store, self.exports, document, limits.output_mib * MIB)
        except (host.GuestFailure, host.GuestAbort, errors.ActivityTrapped, errors.InvalidOutput) as exc:
            raise call_failure(self.defn, exc, self._near_memory_limit) from None
        except WASM_ERRORS as exc:  # traps included
            raise call_failure(self.defn, exc, self._near_memory_limit) from None
        finally:
            host.leave()

    def _near_memory_limit(self) -> bool:
        return near_memory_limit(self.defn, self.store, self.exports)


class _Linked:
    """Modules compiled in one engine and pre-linked to Loom's host functions, by blob (and actor copy)."""

    def __init__(self, engine: Engine, cache_dir: Path) -> None:
        self.engine, self.modules = engine, ModuleCache(engine, cache_dir)
        self._linker = wasmtime.Linker(engine.engine)
        host.define(self._linker)
        self._pre: dict[tuple[str, bool], wasmtime.InstancePre] = {}
        self._unfit: set[tuple[str, bool]] = set()  # modules a pooled engine refused: never compiled again
        self._lock = threading.Lock()

    def instance_pre(self, defn: ActivityDefinition, wasm: Callable[[], bytes], *, actor: bool) -> wasmtime.InstancePre:
        key = (defn.blob, actor)
        with self._lock:
            pre = self._pre.get(key)
            if key in self._unfit:
                raise PoolRefused(f"{defn.ref} does not fit a pool slot")
        if pre is None:
            code = wasm()
            if actor:
                code = snapshot.export_mutable_globals(code)
            try:
                module = self.modules.get(sha256_hex(code), code)
            except PoolRefused:
                with self._lock:
                    self._unfit.add(key)
                raise
            try:
                pre = self._linker.instantiate_pre(module)
            except WASM_ERRORS as exc:
                provided = (
                    "Loom provides loom.log, loom.get_secret, loom.state_get, loom.state_set, loom.http, loom.fail and "
                    "env.abort"
                )
                raise link_failure(defn, exc, provided) from None
            with self._lock:
                self._pre[key] = pre
        return pre


class WasmExecutor:
    """Activities of runtimes ``assemblyscript`` and ``wasm``, loaded from the blob store by digest.

    A call's instance comes from the engine's pool of slots (``Engine(pooled=True)``, the default here); an actor's,
    a call's when every slot is taken, and a call whose memory cap is larger than a slot's get an instance of their
    own, from a second engine made when first needed."""

    def __init__(
        self,
        blobs: BlobStore,
        cache_dir: Path | None = None,
        secrets: SecretProvider | None = None,
        *,
        engine: Engine | None = None,
    ) -> None:
        self.blobs = blobs
        self.engine = engine or Engine(pooled=True)
        self.secrets = secrets or default_secrets()
        self._cache_dir = cache_dir if cache_dir is not None else loom_home() / "modules"
        self._calls = _Linked(self.engine, self._cache_dir)
        self.modules = self._calls.modules
        self._own: _Linked | None = None if self.engine.pooled else self._calls
        self._own_lock = threading.Lock()

    def own_instances(self) -> _Linked:
        """The engine (and its compiled modules) of instances that take no pool slot."""
        with self._own_lock:
            if self._own is None:
                self._own = _Linked(Engine(opt_level=self.engine.opt_level), self._cache_dir)
            return self._own

    def _instantiate(self, defn: ActivityDefinition, *, actor: bool) -> tuple[wasmtime.Store, Exports]:
        if defn.runtime not in ABIS:
            raise errors.InvalidModule(
                f"{defn.ref} has runtime '{defn.runtime.value}', which WasmExecutor does not run"
            )
        pooled = not actor and self.engine.pooled and defn.limits.memory_mib <= POOL_MEMORY_MIB
        wasm = functools.partial(self.blobs.get, defn.blob)
        if pooled:
            try:
                return self._instance(self._calls, defn, wasm, actor=actor)
            except PoolRefused:
                pass  # every slot taken, or a module larger than a slot
        return self._instance(self.own_instances(), defn, wasm, actor=actor)

    @staticmethod
    def _instance(
        linked: _Linked, defn: ActivityDefinition, wasm: Callable[[], bytes], *, actor: bool
    ) -> tuple[wasmtime.Store, Exports]:
        pre = linked.instance_pre(defn, wasm, actor=actor)
        store = limited_store(linked.engine.engine, defn)
        try:
            instance = pre.instantiate(store)
        except WASM_ERRORS as exc:
            store.close()
            if linked.engine.pooled and pool_refused(exc):
                raise PoolRefused(reason(exc)) from None
            raise instantiation_failure(defn, exc) from None
        return store, Exports(store, instance)

    def _context(self, defn: ActivityDefinition, log: host.Log | None, audit: Audit | None = None) -> host.CallContext:
        return host.CallContext(
            activity=defn.ref,
            capabilities=defn.capabilities,
            abi=ABIS[defn.runtime],
            secrets=self.secrets,
            log=log,
            state_budget=Budget.of(defn.limits, defn.capabilities).state_bytes,
            http_budget=Budget.of(defn.limits, defn.capabilities).http_bytes,
            audit=audit,
        )

    def run(
        self, defn: ActivityDefinition, document: Any, *, log: host.Log | None = None, audit: Audit | None = None
    ) -> Any:
        """Runs the activity once on ``document`` (JSON-able data, or JSON text as bytes); returns its JSON output."""
        data = encode_document(document, defn)
        store, exports = self._instantiate(defn, actor=False)
        try:
            output = _Call(defn, store, exports, self._context(defn, log, audit))(data)
        finally:
            store.close()  # its pool slot is free now, whatever holds on to a traceback
        return decode_output(output, defn)

    def actor(self, defn: ActivityDefinition, actor_id: str, *, log: host.Log | None = None) -> Actor:
        """A live instance for ``actor_id``: calls share its memory, globals and key-value state."""
        return Actor(self, defn, actor_id, log)


class Actor:
    """One instance kept alive across calls; its state can be snapshotted to the blob store and restored."""

    def __init__(self, executor: WasmExecutor, defn: ActivityDefinition, actor_id: str, log: host.Log | None) -> None:
        self.executor, self.defn, self.actor_id = executor, defn, actor_id
        self._lock = threading.Lock()
        self._store, self._exports = executor._instantiate(defn, actor=True)
        self._ctx = executor._context(defn, log)

    def call(self, document: Any) -> Any:
        data = encode_document(document, self.defn)
        with self._lock:
            return decode_output(_Call(self.defn, self._store, self._exports, self._ctx)(data), self.defn)

    def snapshot(self) -> str:
        """Stores memory, globals and key-value state in the blob store; returns the snapshot's digest."""
        with self._lock:
            return self.executor.blobs.put(snapshot.capture(self._store, self._exports, self._ctx.state))

    def restore(self, digest: str) -> None:
        """Replaces this actor's instance with a fresh one holding the state of snapshot ``digest``."""
        data = self.executor.blobs.get(digest)
        store, exports = self.executor._instantiate(self.defn, actor=True)
        state = snapshot.restore(data, store, exports)
        if host.state_size(state) > self._ctx.state_budget:
            raise errors.ActivityOutOfMemory(
                f"snapshot {digest[:12]} holds {host.state_size(state)} bytes of actor "
                f"state; {self.defn.ref}'s memory limit leaves "
                f"{self._ctx.state_budget}"
            )
        with self._lock:
            self._store, self._exports = store, exports
            self._ctx.state = state
