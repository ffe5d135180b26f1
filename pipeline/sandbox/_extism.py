"""Extism plugins as activities (``runtime: extism``), behind the same interface as ``WasmExecutor``.

The Extism SDK is an optional extra (``pip install 'loom-verifiable[extism]'``), imported only when a plugin runs.
Plugins export ``run`` (input: the JSON document's bytes; output: a JSON document) and may import Loom's host
functions from ``extism:host/user``: ``loom_log(level: i64, msg)`` and ``loom_get_secret(name) -> value``, granted
per activity exactly as for wasm activities. Limits: the wall-clock deadline (``timeout_ms``), the memory cap (the
plugin's memory and tables are bounded in its binary, since the SDK's ``max_pages`` does not reach tables) and the
output cap apply; Extism's Python SDK has no fuel meter, so ``limits.fuel`` does not.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from pipeline import errors
from pipeline.core import ActivityDefinition, HostFunction, Runtime, SecretProvider, default_secrets
from pipeline.sandbox import _host as host
from pipeline.sandbox._binary import bound_tables_and_memory
from pipeline.sandbox._budget import MAX_TABLES, MIB, Budget
from pipeline.sandbox._errors import extism_failure
from pipeline.sandbox._executor import decode_output as _decode
from pipeline.sandbox._executor import encode_document
from pipeline.store import BlobStore

INSTALL_HINT = "runtime 'extism' needs the Extism SDK: pip install 'loom-verifiable[extism]' (or pip install extism)"

_functions: list[Any] = []
_functions_lock = threading.Lock()
_P = ParamSpec("_P")
_R = TypeVar("_R")


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

        def guarded(body: Callable[_P, _R]) -> Callable[_P, _R | str]:
            """A denial cannot raise through the SDK's callback: record it in the call's context instead."""

            @functools.wraps(body)
            def call(*args: _P.args, **kwargs: _P.kwargs) -> _R | str:
                try:
                    return body(*args, **kwargs)
                except errors.LoomError as exc:
                    ctx = getattr(host._current, "ctx", None)
                    if ctx is not None and ctx.failure is None:
                        ctx.failure = exc
                    return ""

            # The SDK infers a host function's results from its annotations (copied from ``body`` by ``wraps``),
            # and reads "no result" only from a missing return annotation: it refuses ``-> None``.
            if call.__annotations__.get("return", "") in ("None", None):
                call.__annotations__ = {k: v for k, v in call.__annotations__.items() if k != "return"}
            return call

        def loom_log(level: int, msg: str) -> None:
            data = msg.encode()
            host.log_line(
                host.current(HostFunction.loom_log),
                host.LEVELS.get(level, "info"),
                data[: host.LOG_LINE_BYTES],
                len(data),
            )

        def loom_get_secret(name: str) -> str:
            return host.read_secret(name[: host.KEY_BYTES]) or ""

        # host_fn registers a function with the SDK as it is applied (what decorating with it would do)
        log_fn = extism.host_fn(name="loom_log", namespace="extism:host/user")(guarded(loom_log))
        secret_fn = extism.host_fn(name="loom_get_secret", namespace="extism:host/user")(guarded(loom_get_secret))
        _functions.extend([log_fn, secret_fn])
        return _functions


class ExtismExecutor:
    """Runs ``runtime: extism`` activities: a compiled plugin per (module, limits), a fresh instance per call."""

    def __init__(self, blobs: BlobStore, secrets: SecretProvider | None = None) -> None:
        self.blobs = blobs
        self.secrets = secrets or default_secrets()
        self._compiled: dict[tuple[str, int, int], Any] = {}

    def _plugin(self, defn: ActivityDefinition) -> Any:
        extism = _sdk()
        key = (defn.blob, defn.limits.wall_clock_ms, defn.limits.memory_mib)
        compiled = self._compiled.get(key)
        if compiled is None:
            budget = Budget.of(defn.limits, defn.capabilities)
            try:
                wasm = bound_tables_and_memory(
                    self.blobs.get(defn.blob),
                    max_pages=budget.memory_pages,
                    max_table_elements=budget.table_elements,
                    max_tables=MAX_TABLES,
                )
            except ValueError as exc:
                raise errors.InvalidModule(f"{defn.ref}: {exc}") from None
            except MemoryError as exc:
                raise errors.ActivityOutOfMemory(f"{defn.ref}: {exc}") from None
            except IndexError:
                raise errors.InvalidModule(f"{defn.ref} is not a well-formed WebAssembly module") from None
            manifest = {
                "wasm": [{"data": wasm}],
                "timeout_ms": defn.limits.wall_clock_ms,
                "memory": {"max_pages": budget.memory_pages},
            }
            try:
                compiled = extism.extism.CompiledPlugin(manifest, False, _host_functions())
            except extism.Error as exc:
                raise errors.InvalidModule(f"{defn.ref} is not a loadable Extism plugin: {exc}") from None
            self._compiled[key] = compiled
        try:
            return extism.Plugin(compiled)  # instantiation: where an import nobody provides (WASI's) is found
        except extism.Error as exc:
            raise errors.InvalidModule(
                f"{defn.ref} cannot be instantiated: {exc} (Loom runs Extism plugins without WASI)"
            ) from None

    def run(self, defn: ActivityDefinition, document: Any, *, log: host.Log | None = None) -> Any:
        if defn.runtime is not Runtime.extism:
            raise errors.InvalidModule(f"{defn.ref} has runtime '{defn.runtime.value}', not 'extism'")
        data = encode_document(document, defn)
        plugin = self._plugin(defn)
        ctx = host.CallContext(
            activity=defn.ref, capabilities=defn.capabilities, abi=None, secrets=self.secrets, log=log
        )
        host.enter(ctx, defn.limits.wall_clock_ms)
        try:
            output = plugin.call("run", data)
        except _sdk().Error as exc:
            raise extism_failure(defn, str(exc)) from None
        finally:
            host.leave()
        if ctx.failure:
            raise ctx.failure
        limit = defn.limits.output_mib * MIB
        if len(output) > limit:
            raise errors.OutputTooLarge(
                f"{defn.ref}: the output is {len(output)} bytes; the activity's limit is "
                f"{limit} bytes (limits.output_mib)"
            )
        return _decode(output, defn)
