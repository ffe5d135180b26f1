"""WASI programs as activities (``runtime: wasi``).

A ``wasm32-wasip1`` command (it exports ``_start``) reads its input document (UTF-8 JSON) on stdin and writes its
JSON result to stdout. Each stderr line goes to the call's log through ``host.log_line``, with the caps of
``loom.log``. Exit code 0 is success; any other is ``ActivityExited``, carrying the code and the last stderr line,
and is never retried.

Nothing is granted by default: the arguments are the activity's name alone, the environment is empty, no directory
is preopened, and WASI preview 1 has no sockets. ``capabilities.wasi_dirs`` preopens host directories read-only;
``capabilities.wasi_env`` names variables whose values are the granted secrets of the same names, from the
executor's secret provider (an unset secret is an absent variable).

wasmtime implements WASI, except for the functions Loom replaces: two here, and four about files in
``pipeline.sandbox._wasi_files`` (``path_open`` opens only regular files and directories, directories are listed by
Loom within the deadline, ``fd_close`` and ``fd_renumber`` keep its view of descriptors right).

``fd_write`` is Loom's: stdout is collected up to
``limits.output_mib`` (past it the write fails with ``EFBIG`` and the call is ``OutputTooLarge``), stderr is cut
into log lines, and any other descriptor is ``EBADF`` (no grant is writable). wasmtime-py's own stdout and stderr
callbacks run on wasmtime's threads, cost a thread round trip per write, and are released on those threads after
the call, calling into Python, which aborts the process when it comes during interpreter shutdown. ``poll_oneoff``
(sleep, poll) is refused with ``CapabilityDenied``: it waits inside the host, out of reach of epoch interruption, so
a guest could sleep past its deadline.

Limits are every activity's: fuel, the epoch deadline, the memory cap across memory and tables (``Budget``), and
the output cap. Modules compile in the unpooled engine and module cache of the ``WasmExecutor`` beside which this
runs.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from pipeline import errors
from pipeline.core import ActivityDefinition, Runtime
from pipeline.sandbox import _host as host
from pipeline.sandbox._abi import WASI_MODULE, as_func, as_memory, read_guest, write_guest
from pipeline.sandbox._budget import MIB
from pipeline.sandbox._engine import WASM_ERRORS
from pipeline.sandbox._errors import call_failure, instantiation_failure, link_failure, near_memory_limit
from pipeline.sandbox._executor import WasmExecutor, decode_output, encode_document, limited_store
from pipeline.sandbox._fastcall import Exports
from pipeline.sandbox._wasi_files import Files, shim_module

ERRNO_BADF, ERRNO_FBIG, ERRNO_INVAL = 8, 22, 28  # WASI preview 1 errno values
MAX_IOVECS = 1024  # IOV_MAX
STDERR_CHUNK = 64 * 1024  # stderr is read from the guest this much at a time: only lines' heads are kept


def _set_stdin(config: wasmtime.WasiConfig, data: bytes) -> None:
    """Gives the guest ``data`` as its stdin, in memory.

    wasmtime's C API has ``wasi_config_set_stdin_bytes`` (an in-memory pipe), which wasmtime-py binds in
    ``wasmtime._ffi`` but does not wrap: the bytes are copied once, and no file descriptor, thread or file is
    needed. The alternatives do worse: an ``os.pipe()`` opened as ``/dev/fd/N`` needs a writer thread, which stays
    blocked when the guest does not read all of its input (a pipe holds 64 KiB); a memfd is Linux-only and one
    more descriptor per call.
    """
    vec = ffi.wasm_byte_vec_t()
    ffi.wasm_byte_vec_new(
        ctypes.byref(vec), len(data), ctypes.cast(ctypes.c_char_p(data), ctypes.POINTER(ffi.wasm_byte_t))
    )
    ffi.wasi_config_set_stdin_bytes(config.ptr(), ctypes.byref(vec))  # takes the vector's bytes


class _Streams:
    """The guest's stdout, collected up to the output cap, and its stderr, cut into log lines."""

    def __init__(self, ctx: host.CallContext, limit: int) -> None:
        self.ctx, self.limit = ctx, limit
        self.out: list[bytes] = []
        self.out_size = 0
        self.overflow = False
        self.line = b""  # the first LOG_LINE_BYTES of the stderr line being written
        self.line_size = 0
        self.last_line = ""

    def stdout(self, caller: wasmtime.Caller, spans: list[tuple[int, int]], total: int) -> int:
        if self.out_size + total > self.limit:
            self.overflow = True
            return ERRNO_FBIG  # refused before it is read; so is every later write
        self.out.extend(read_guest(caller, ptr, size, what="fd_write") for ptr, size in spans)
        self.out_size += total
        return 0

    def stderr(self, caller: wasmtime.Caller, spans: list[tuple[int, int]]) -> int:
        for ptr, size in spans:
            for start in range(ptr, ptr + size, STDERR_CHUNK):
                host.check_deadline(self.ctx)
                self._text(read_guest(caller, start, min(STDERR_CHUNK, ptr + size - start), what="fd_write"))
        return 0

    def _text(self, data: bytes) -> None:
        *lines, rest = data.split(b"\n")
        for piece in lines:
            self._extend(piece)
            self.end_line()
        self._extend(rest)

    def _extend(self, piece: bytes) -> None:
        self.line += piece[: max(0, host.LOG_LINE_BYTES - len(self.line))]
        self.line_size += len(piece)

    def end_line(self) -> None:
        """Logs the line, and keeps it as the last words an exit error quotes."""
        if self.line_size:
            host.log_line(self.ctx, "info", self.line, self.line_size)
            self.last_line = self.line.decode("utf-8", "replace").strip()
        self.line, self.line_size = b"", 0

    def too_large(self, defn: ActivityDefinition) -> errors.OutputTooLarge:
        return errors.OutputTooLarge(
            f"{defn.ref}: the output is more than {self.limit} bytes, the activity's limit (limits.output_mib)"
        )


_current = threading.local()  # .streams: the call in progress on this thread


def _fd_write(caller: wasmtime.Caller, fd: int, iovs: int, count: int, written: int) -> int:
    streams: _Streams = _current.streams
    if fd not in (1, 2):
        return ERRNO_BADF
    if not 0 <= count <= MAX_IOVECS:
        return ERRNO_INVAL
    table = read_guest(caller, iovs, 8 * count, what="fd_write")
    spans = [
        (int.from_bytes(table[i : i + 4], "little"), int.from_bytes(table[i + 4 : i + 8], "little"))
        for i in range(0, len(table), 8)
    ]
    total = sum(size for _, size in spans)
    if total > 0xFFFFFFFF:  # more than the u32 count of bytes written can say
        return ERRNO_INVAL
    errno = streams.stdout(caller, spans, total) if fd == 1 else streams.stderr(caller, spans)
    if not errno:
        write_guest(caller, as_memory(caller["memory"]), written, total.to_bytes(4, "little"), what="fd_write")
    return errno


def _path_open(caller: wasmtime.Caller, *args: int) -> int:
    files: Files = _current.files
    return files.open(caller, *args)


def _fd_readdir(caller: wasmtime.Caller, *args: int) -> int:
    files: Files = _current.files
    return files.readdir(caller, *args)


def _fd_close(caller: wasmtime.Caller, fd: int) -> int:
    files: Files = _current.files
    return files.close(caller, fd)


def _fd_renumber(caller: wasmtime.Caller, fd: int, to: int) -> int:
    files: Files = _current.files
    return files.renumber(caller, fd, to)


def _poll_oneoff(*_: int) -> int:
    raise errors.CapabilityDenied(
        f"{_current.streams.ctx.activity} called poll_oneoff (sleep or poll), which no "
        "activity is granted: a wait inside the host would outlast its deadline"
    )


_shared: weakref.WeakKeyDictionary[WasmExecutor, WasiExecutor] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


class WasiExecutor:
    """Runs ``runtime: wasi`` activities beside a ``WasmExecutor``, in its engine of instances that take no pool slot
    (a WASI call makes two instances, the guest and a shim, in one store); a fresh store per call."""

    def __init__(self, wasm: WasmExecutor) -> None:
        own = wasm.own_instances()
        self.blobs, self.engine, self.modules, self.secrets = wasm.blobs, own.engine, own.modules, wasm.secrets
        self._linker = wasmtime.Linker(self.engine.engine)
        self._linker.define_wasi()
        self._linker.allow_shadowing = True
        i32 = wasmtime.ValType.i32()
        self._linker.define_func(
            WASI_MODULE, "fd_write", wasmtime.FuncType([i32] * 4, [i32]), _fd_write, access_caller=True
        )
        self._linker.define_func(WASI_MODULE, "poll_oneoff", wasmtime.FuncType([i32] * 4, [i32]), _poll_oneoff)
        i64 = wasmtime.ValType.i64()
        path_open = wasmtime.FuncType([i32, i32, i32, i32, i32, i64, i64, i32, i32], [i32])
        self._linker.define_func(WASI_MODULE, "path_open", path_open, _path_open, access_caller=True)
        fd_readdir = wasmtime.FuncType([i32, i32, i32, i64, i32], [i32])
        self._linker.define_func(WASI_MODULE, "fd_readdir", fd_readdir, _fd_readdir, access_caller=True)
        self._linker.define_func(
            WASI_MODULE, "fd_close", wasmtime.FuncType([i32], [i32]), _fd_close, access_caller=True
        )
        renumber = wasmtime.FuncType([i32, i32], [i32])
        self._linker.define_func(WASI_MODULE, "fd_renumber", renumber, _fd_renumber, access_caller=True)
        self._wasi = wasmtime.Linker(self.engine.engine)  # wasmtime's own WASI, which Loom's functions call into
        self._wasi.define_wasi()
        self._shim = shim_module(self.engine.engine)
        self._pre: dict[str, wasmtime.InstancePre] = {}
        self._lock = threading.Lock()

    @classmethod
    def beside(cls, wasm: WasmExecutor) -> WasiExecutor:
        """The one WasiExecutor sharing ``wasm``'s engines and module caches (it keeps its own linked modules)."""
        with _shared_lock:
            executor = _shared.get(wasm)
            if executor is None:
                executor = _shared[wasm] = cls(wasm)
            return executor

    def run(self, defn: ActivityDefinition, document: Any, *, log: host.Log | None = None) -> Any:
        """Runs the program once on ``document``; returns the JSON document it wrote to stdout."""
        if defn.runtime is not Runtime.wasi:
            raise errors.InvalidModule(f"{defn.ref} has runtime '{defn.runtime.value}', not 'wasi'")
        data = encode_document(document, defn)
        ctx = host.CallContext(
            activity=defn.ref, capabilities=defn.capabilities, abi=None, secrets=self.secrets, log=log
        )
        streams = _Streams(ctx, defn.limits.output_mib * MIB)
        try:
            status = self._execute(defn, self._config(defn, data), streams)
        except errors.LoomError:
            if streams.overflow:  # a guest whose writes failed may trap or time out next: the cap comes first
                raise streams.too_large(defn) from None
            raise
        if streams.overflow:
            raise streams.too_large(defn)
        streams.end_line()
        if status:
            said = f": {streams.last_line}" if streams.last_line else " (nothing on stderr)"
            raise errors.ActivityExited(f"{defn.ref} exited with code {status}{said}", status)
        return decode_output(b"".join(streams.out), defn)

    def _config(self, defn: ActivityDefinition, data: bytes) -> wasmtime.WasiConfig:
        """Exactly what the definition grants: its name as argv[0], granted variables, read-only directories."""
        config = wasmtime.WasiConfig()
        config.argv = [defn.name]
        config.env = [
            (name, value) for name in defn.capabilities.wasi_env if (value := self.secrets.get(name)) is not None
        ]
        for grant in defn.capabilities.wasi_dirs:
            try:
                config.preopen_dir(grant.host, grant.guest, fs_mutable=False)  # read-only directory and files
            except WASM_ERRORS:
                raise errors.CapabilityDenied(
                    f"{defn.ref}: its granted directory {grant.host} cannot be opened"
                ) from None
        _set_stdin(config, data)
        return config

    def _execute(self, defn: ActivityDefinition, config: wasmtime.WasiConfig, streams: _Streams) -> int:
        """Runs the program to its end under the definition's limits: its exit code (0 when ``_start`` returns).
        The store is closed on the way out, so no traceback keeps it (and the guest's memory) alive."""
        with limited_store(self.engine.engine, defn, instances=2) as store:  # the guest and the shim of _wasi_files
            store.set_wasi(config)
            host.enter(streams.ctx, defn.limits.wall_clock_ms)
            _current.streams, _current.files = streams, Files.of(defn, streams.ctx, store, self._wasi, self._shim)
            try:
                return self._start(defn, store, self._instantiate(defn, store), streams.ctx)
            finally:
                _current.streams = _current.files = None
                host.leave()

    @staticmethod
    def _start(defn: ActivityDefinition, store: wasmtime.Store, exports: Exports, ctx: host.CallContext) -> int:
        start = as_func(exports["_start"], "_start")
        try:
            start(store)
        except wasmtime.ExitTrap as exit_:
            return exit_.code
        except WASM_ERRORS as exc:
            raise call_failure(defn, exc, lambda: near_memory_limit(defn, store, exports)) from None
        return 0

    def _instantiate(self, defn: ActivityDefinition, store: wasmtime.Store) -> Exports:
        try:
            return Exports(store, self._instance_pre(defn).instantiate(store))
        except WASM_ERRORS as exc:
            raise instantiation_failure(defn, exc) from None

    def _instance_pre(self, defn: ActivityDefinition) -> wasmtime.InstancePre:
        with self._lock:
            pre = self._pre.get(defn.blob)
        if pre is None:
            module = self.modules.get(defn.blob, self.blobs.get(defn.blob))
            try:
                pre = self._linker.instantiate_pre(module)
            except WASM_ERRORS as exc:
                raise link_failure(
                    defn, exc, f"Loom provides WASI preview 1, {WASI_MODULE}, and nothing else"
                ) from None
            with self._lock:
                self._pre[defn.blob] = pre
        return pre
