"""Extism plugins as activities (``runtime: extism``), behind the same interface as ``WasmExecutor``.

The Extism SDK is an optional extra (``pip install 'loom-verifiable[extism]'``), imported only when a plugin runs.
Plugins export ``run`` (input: the JSON document's bytes; output: a JSON document) and may import Loom's host
functions from ``extism:host/user``: ``loom_log(level: i64, msg)`` and ``loom_get_secret(name) -> value``, granted
per activity exactly as for wasm activities. Limits: the wall-clock deadline (``timeout_ms``), the memory cap (the
plugin's memory and tables are bounded in its binary, since the SDK's ``max_pages`` does not reach tables) and the
output cap apply; Extism's Python SDK has no fuel meter, so ``limits.fuel`` does not.

HTTP: a plugin's own ``extism_pdk::http::request`` works unmodified where the activity is granted ``loom_http``, and
goes through Loom's client (``_http``) under the same grant as a wasm activity's ``loom.http``. Extism's client
resolves and connects by itself, so no allow-list of Extism's could keep a granted name from resolving to a private
address; Loom therefore re-points the plugin's imports of Extism's ``http_request``, ``http_status_code`` and
``http_headers`` at its own functions before compiling it, and gives Extism an empty ``allowed_hosts``.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from pipeline import errors
from pipeline.core import ActivityDefinition, HostFunction, Runtime, SecretProvider, default_secrets
from pipeline.sandbox import _host as host
from pipeline.sandbox._binary import bound_tables_and_memory, rename_imports
from pipeline.sandbox._budget import MAX_TABLES, MIB, Budget
from pipeline.sandbox._errors import extism_failure
from pipeline.sandbox._executor import decode_output as _decode
from pipeline.sandbox._executor import encode_document
from pipeline.sandbox._http import Audit, Request
from pipeline.store import BlobStore

INSTALL_HINT = "runtime 'extism' needs the Extism SDK: pip install 'loom-verifiable[extism]' (or pip install extism)"

HTTP_NAMESPACE = "loom:extism-http"
"""Where a plugin's imports of Extism's HTTP functions are re-pointed: Loom's own, under ``loom_http``."""
_HTTP_IMPORTS = {("extism:host/env", name): (HTTP_NAMESPACE, name) for name in ("http_request", "http_status_code",
                                                                                "http_headers")}  # fmt: skip

_U64 = (1 << 64) - 1

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
        i32, i64 = extism.ValType.I32, extism.ValType.I64
        http_fns = [
            extism.host_fn(name=name, namespace=HTTP_NAMESPACE, signature=signature)(guarded(body))
            for name, signature, body in (
                ("http_request", ([i64, i64], [i64]), _http_request),
                ("http_status_code", ([], [i32]), _http_status_code),
                ("http_headers", ([], [i64]), _http_headers),
            )
        ]
        _functions.extend([log_fn, secret_fn, *http_fns])
        return _functions


def _http_request(plugin: Any, params: list[Any], results: list[Any], *_: Any) -> None:
    """Extism's ``http_request(request, body) -> body``: the request's JSON and its body are Extism memory blocks
    (freed here, as Extism's own function does); the response body comes back as a new block (0 when empty)."""
    results[0].value = 0
    ctx = host.current(HostFunction.loom_http)
    if ctx.failure is not None:  # a request was refused: the call has failed, and nothing more is sent
        return
    ctx.http_response = None
    request, body_at = (param.value & _U64 for param in params)  # the guest's i64s are Extism's u64 offsets
    request_block = plugin.memory_at_offset(request)
    body_block = plugin.memory_at_offset(body_at) if body_at else None
    size = request_block.length + (body_block.length if body_block else 0)
    if size > ctx.http_budget:
        raise errors.ActivityOutOfMemory(
            f"loom.http: a request of {size} bytes; {ctx.activity} may hold {ctx.http_budget} bytes of HTTP"
        )
    data, body = _take(plugin, request_block), _take(plugin, body_block)
    response = host.http_client(ctx).fetch(Request.from_extism(data, body))
    host.check_deadline(ctx)
    ctx.http_response = response
    results[0].value = _give(plugin, response.body)


def _http_status_code(plugin: Any, params: list[Any], results: list[Any], *_: Any) -> None:
    ctx = host.current(HostFunction.loom_http)
    results[0].value = ctx.http_response.status if ctx.http_response is not None else 0


def _http_headers(plugin: Any, params: list[Any], results: list[Any], *_: Any) -> None:
    ctx = host.current(HostFunction.loom_http)
    headers = ctx.http_response.joined_headers() if ctx.http_response is not None else {}
    results[0].value = _give(plugin, json.dumps(headers, ensure_ascii=False).encode())


def _take(plugin: Any, block: Any) -> bytes:
    """The bytes of an Extism memory block, which is then freed."""
    if block is None or not block.length:
        return b""
    data = bytes(plugin.memory(block))
    plugin.free(block)
    return data


def _give(plugin: Any, data: bytes) -> int:
    """A new Extism memory block holding ``data``; its offset (0 for no bytes)."""
    if not data:
        return 0
    block = plugin.alloc(len(data))
    plugin.memory(block)[:] = data
    return int(block.offset)


class ExtismExecutor:
    """Runs ``runtime: extism`` activities: a compiled plugin per (module, limits), a fresh instance per call."""

    def __init__(self, blobs: BlobStore, secrets: SecretProvider | None = None) -> None:
        self.blobs = blobs
        self.secrets = secrets or default_secrets()
        self._compiled: dict[tuple[str, int, int, int], Any] = {}

    def _plugin(self, defn: ActivityDefinition) -> Any:
        extism = _sdk()
        budget = Budget.of(defn.limits, defn.capabilities)
        key = (defn.blob, defn.limits.wall_clock_ms, budget.memory_pages, budget.table_elements)
        compiled = self._compiled.get(key)
        if compiled is None:
            try:
                wasm = bound_tables_and_memory(
                    rename_imports(self.blobs.get(defn.blob), _HTTP_IMPORTS),
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
                "allowed_hosts": [],  # Extism's own client is never reached (its imports are Loom's): none for it
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

    def run(
        self, defn: ActivityDefinition, document: Any, *, log: host.Log | None = None, audit: Audit | None = None
    ) -> Any:
        """Runs the plugin's ``run`` once on ``document``; ``audit`` is told of each HTTP request it makes."""
        if defn.runtime is not Runtime.extism:
            raise errors.InvalidModule(f"{defn.ref} has runtime '{defn.runtime.value}', not 'extism'")
        data = encode_document(document, defn)
        plugin = self._plugin(defn)
        ctx = host.CallContext(
            activity=defn.ref,
            capabilities=defn.capabilities,
            abi=None,
            secrets=self.secrets,
            log=log,
            http_budget=Budget.of(defn.limits, defn.capabilities).http_bytes,
            audit=audit,
        )
        host.enter(ctx, defn.limits.wall_clock_ms)
        try:
            output = plugin.call("run", data)
        except _sdk().Error as exc:
            # a host function's refusal goes on as an empty answer (the SDK cannot trap from Python), so what the
            # plugin did with it afterwards is not the cause: the refusal is
            raise (ctx.failure or extism_failure(defn, str(exc))) from None
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
