"""Extism plugins as activities (``runtime: extism``), behind the same interface as ``WasmExecutor``.

The Extism SDK is an optional extra (``pip install 'loom-pipeline[extism]'``), imported only when a plugin runs.
Plugins export ``run`` (input: the JSON document's bytes; output: a JSON document) and may import Loom's host
functions from ``extism:host/user``: ``loom_log(level: i64, msg)`` and ``loom_get_secret(name) -> value``, granted
per activity exactly as for wasm activities. Limits: the wall-clock deadline (``timeout_ms``) and the memory cap
(``memory.max_pages``) apply; Extism's Python SDK has no fuel meter, so ``limits.fuel`` does not.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from pipeline import errors
from pipeline.blobstore import BlobStore
from pipeline.models import ActivityDefinition, Runtime
from pipeline.secrets import EnvSecrets, SecretProvider
from pipeline.wasm import host
from pipeline.wasm.executor import decode_output as _decode, encode_document

INSTALL_HINT = "runtime 'extism' needs the Extism SDK: pip install 'loom-pipeline[extism]' (or pip install extism)"
PAGES_PER_MIB = 16

_functions: list[Any] = []
_functions_lock = threading.Lock()


def _sdk() -> Any:
    try:
        import extism
    except ImportError:
        raise errors.InvalidModule(INSTALL_HINT) from None
    return extism


def _host_functions() -> list[Any]:
    """Loom's host functions for Extism, defined once per process (the SDK keeps a global registry)."""
    with _functions_lock:
        if _functions:
            return _functions
        extism = _sdk()

        def guarded(body):  # noqa: ANN001, ANN202 - a denial cannot raise through the SDK's callback: record it
            @functools.wraps(body)
            def call(*args):  # noqa: ANN002, ANN202
                try:
                    return body(*args)
                except errors.CapabilityDenied as exc:
                    ctx = getattr(host._current, "ctx", None)
                    if ctx is not None and ctx.denied is None:
                        ctx.denied = exc
                    return ""
            return call

        @extism.host_fn(name="loom_log", namespace="extism:host/user")
        @guarded
        def loom_log(level: int, msg: str):  # noqa: ANN202 - the SDK infers "no result" from no annotation
            ctx = host.current("loom_log")
            if ctx.log:
                ctx.log(host.LEVELS.get(level, "info"), msg)

        @extism.host_fn(name="loom_get_secret", namespace="extism:host/user")
        @guarded
        def loom_get_secret(name: str) -> str:
            return host.read_secret(name) or ""

        _functions.extend([loom_log, loom_get_secret])
        return _functions


class ExtismExecutor:
    """Runs ``runtime: extism`` activities: a compiled plugin per (module, limits), a fresh instance per call."""

    def __init__(self, blobs: BlobStore, secrets: SecretProvider | None = None) -> None:
        self.blobs = blobs
        self.secrets = secrets or EnvSecrets()
        self._compiled: dict[tuple[str, int, int], Any] = {}

    def _plugin(self, defn: ActivityDefinition) -> Any:
        extism = _sdk()
        key = (defn.blob, defn.limits.wall_clock_ms, defn.limits.memory_mib)
        compiled = self._compiled.get(key)
        if compiled is None:
            manifest = {"wasm": [{"data": self.blobs.get(defn.blob)}], "timeout_ms": defn.limits.wall_clock_ms,
                        "memory": {"max_pages": defn.limits.memory_mib * PAGES_PER_MIB}}
            try:
                compiled = extism.extism.CompiledPlugin(manifest, False, _host_functions())
            except extism.Error as exc:
                raise errors.InvalidModule(f"{defn.ref} is not a loadable Extism plugin: {exc}") from None
            self._compiled[key] = compiled
        return extism.Plugin(compiled)

    def run(self, defn: ActivityDefinition, document: Any, *, log: host.Log | None = None) -> Any:
        if defn.runtime is not Runtime.extism:
            raise errors.InvalidModule(f"{defn.ref} has runtime '{defn.runtime.value}', not 'extism'")
        data = encode_document(document, defn)
        plugin = self._plugin(defn)
        ctx = host.CallContext(activity=defn.ref, capabilities=defn.capabilities, abi=None, secrets=self.secrets,
                               log=log)
        host.enter(ctx)
        try:
            output = plugin.call("run", data)
        except _sdk().Error as exc:
            raise self._translate(defn, str(exc)) from None
        finally:
            host.leave()
        if ctx.denied:
            raise ctx.denied
        return _decode(output, defn)

    @staticmethod
    def _translate(defn: ActivityDefinition, message: str) -> errors.LoomError:
        lowered = message.lower()
        if "timeout" in lowered or "timed out" in lowered:
            return errors.ActivityTimeout(f"{defn.ref} passed its deadline of {defn.limits.wall_clock_ms} ms")
        if "memory" in lowered and ("limit" in lowered or "grow" in lowered or "exceed" in lowered):
            return errors.ActivityOutOfMemory(f"{defn.ref} ran out of memory (limit {defn.limits.memory_mib} MiB)")
        return errors.ActivityTrapped(f"{defn.ref} failed: {message.strip()}")
