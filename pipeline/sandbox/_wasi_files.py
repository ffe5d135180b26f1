"""What a WASI guest may open in its granted directories: regular files and directories, within its deadline.

wasmtime's own ``path_open`` opens whatever the path names, and a FIFO (or a device reached through a symlink)
blocks the opening thread inside the host, out of reach of epoch interruption: the guest would outlast its deadline
for as long as nobody writes to the FIFO. And wasmtime's ``fd_readdir`` reads the whole directory on every call
(3.7 s for one call on 100,000 entries), so no check between calls can hold a deadline. Loom therefore:

- puts its own ``path_open`` in front of wasmtime's: it looks at what the path names (``stat``, which never
  blocks), refuses anything but a regular file or a directory with ``CapabilityDenied``, then hands the call to
  wasmtime, which does the opening and all the sandboxing (no ``..`` or symlink out, read-only);
- lists directories itself: each listing is read once, with the deadline checked as it is read, and served to the
  guest in ``fd_readdir``'s format (``.``, ``..``, then the entries, cookie n for the nth). The listings it holds
  count against the call's memory cap (``Budget.listing_bytes``); a directory that fails while it is read (gone,
  unreadable, an I/O error) is the guest's errno, as any failed call is.

Loom's functions reach wasmtime's through a shim module instantiated in the call's store, which imports the guest's
memory and re-exports it: wasmtime's WASI functions read and write the memory of the instance that calls them.
The guard knows the host directory behind each preopened descriptor and each directory the guest opened since; a
descriptor it does not know as a directory (a file, a closed or a renumbered one) is no base for ``path_open``,
and its listing is wasmtime's. What it cannot stop: a host process with write access to a granted directory that swaps
a file for a FIFO between the guard's look and wasmtime's open; grant directories that only their owner writes.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import wasmtime

from pipeline import errors
from pipeline.core import ActivityDefinition
from pipeline.sandbox import _host as host
from pipeline.sandbox._abi import WASI_MODULE, as_func, as_memory, read_guest, write_guest
from pipeline.sandbox._budget import Budget

if TYPE_CHECKING:
    from wasmtime._exportable import AsExtern

ERRNO_ACCES, ERRNO_INVAL, ERRNO_IO, ERRNO_LOOP, ERRNO_NAMETOOLONG = 2, 28, 29, 32, 37  # WASI preview 1
ERRNO_NOENT, ERRNO_NOTDIR = 44, 54
_ERRNO_OF = {
    errno.ENAMETOOLONG: ERRNO_NAMETOOLONG,
    errno.ELOOP: ERRNO_LOOP,
    errno.ENOENT: ERRNO_NOENT,
    errno.ENOTDIR: ERRNO_NOTDIR,
    errno.EACCES: ERRNO_ACCES,
    errno.EPERM: ERRNO_ACCES,
}
FIRST_PREOPEN_FD = 3  # wasmtime numbers preopened directories from 3, in the order they are given
LOOKUP_SYMLINK_FOLLOW = 1
MAX_PATH = 4096
CHECK_EVERY = 1024  # directory entries read between two deadline checks
_REFUSED = {
    stat.S_IFIFO: "FIFO",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
}
FILETYPE_DIRECTORY, FILETYPE_REGULAR, FILETYPE_SYMLINK = 3, 4, 7  # WASI preview 1 filetypes
_FILETYPE = {stat.S_IFBLK: 1, stat.S_IFCHR: 2, stat.S_IFSOCK: 6}  # the others, when only a stat can tell
ORIGINALS = ("path_open", "fd_readdir", "fd_close", "fd_renumber")  # in the shim's import order
_DIRENT = struct.Struct("<QQIB3x")  # d_next, d_ino, d_namlen, d_type

SHIM_WAT = f"""
(module
  (import "loom" "memory" (memory 0))
  (import "{WASI_MODULE}" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "{WASI_MODULE}" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "{WASI_MODULE}" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "{WASI_MODULE}" "fd_renumber" (func $fd_renumber (param i32 i32) (result i32)))
  (export "memory" (memory 0))
  (func (export "fd_close") (param i32) (result i32) (call $fd_close (local.get 0)))
  (func (export "fd_renumber") (param i32 i32) (result i32) (call $fd_renumber (local.get 0) (local.get 1)))
  (func (export "path_open") (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)
    (call $path_open (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5)
      (local.get 6) (local.get 7) (local.get 8)))
  (func (export "fd_readdir") (param i32 i32 i32 i64 i32) (result i32)
    (call $fd_readdir (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4))))
"""
"""wasmtime's functions that Loom's stand in front of, called from an instance whose memory is the guest's."""


def shim_module(engine: wasmtime.Engine) -> wasmtime.Module:
    return wasmtime.Module(engine, bytes(wasmtime.wat2wasm(SHIM_WAT)))


@dataclass
class Files:
    """One call's view of its granted directories, and its way to wasmtime's own functions."""

    defn: ActivityDefinition
    ctx: host.CallContext
    store: wasmtime.Store
    wasi: wasmtime.Linker  # wasmtime's WASI alone: its functions act on the store's WASI context
    shim: wasmtime.Module
    directories: dict[int, str] = field(default_factory=dict)  # descriptor -> host directory
    listings: dict[int, list[bytes]] = field(default_factory=dict)  # descriptor -> its entries, as dirents
    held: int = 0  # bytes of the listings above
    _shim: wasmtime.Instance | None = None

    @classmethod
    def of(
        cls,
        defn: ActivityDefinition,
        ctx: host.CallContext,
        store: wasmtime.Store,
        wasi: wasmtime.Linker,
        shim: wasmtime.Module,
    ) -> Files:
        files = cls(defn, ctx, store, wasi, shim)
        for fd, grant in enumerate(defn.capabilities.wasi_dirs, FIRST_PREOPEN_FD):
            files.directories[fd] = grant.host
        return files

    def _original(self, caller: wasmtime.Caller, name: str) -> wasmtime.Func:
        if self._shim is None:
            imports: list[AsExtern] = [as_memory(caller.get("memory"))]
            imports += [self.wasi.get(self.store, WASI_MODULE, n) for n in ORIGINALS]
            self._shim = wasmtime.Instance(self.store, self.shim, imports)
        return as_func(self._shim.exports(self.store)[name], name)

    def open(self, caller: wasmtime.Caller, fd: int, dirflags: int, path_ptr: int, path_len: int, *rest: int) -> int:
        host.check_deadline(self.ctx)
        base = self.directories.get(fd)
        if base is None:
            return ERRNO_NOTDIR
        raw = read_guest(caller, path_ptr, min(path_len & 0xFFFFFFFF, MAX_PATH + 1), what="path_open")
        if len(raw) > MAX_PATH:
            return ERRNO_NAMETOOLONG
        if b"\0" in raw:
            return ERRNO_INVAL
        path, mode = os.path.join(base, os.fsdecode(raw)), None
        try:
            mode = os.stat(path, follow_symlinks=bool(dirflags & LOOKUP_SYMLINK_FOLLOW)).st_mode
        except (FileNotFoundError, NotADirectoryError):
            pass  # nothing there: wasmtime gives the guest its errno (nothing can be made: the grant is read-only)
        except OSError as exc:  # a path the look cannot follow (too long joined to the grant, a loop) is not opened
            return _ERRNO_OF.get(exc.errno or 0, ERRNO_ACCES)
        if mode is not None and stat.S_IFMT(mode) in _REFUSED:
            shown = raw[:80].decode("utf-8", "replace")
            raise errors.CapabilityDenied(
                f"{self.defn.ref} opened {shown!r} in a granted directory, which is a "
                f"{_REFUSED[stat.S_IFMT(mode)]}: only regular files and directories are granted"
            )
        status: int = self._original(caller, "path_open")(caller, fd, dirflags, path_ptr, path_len, *rest)
        if status == 0:  # the descriptor is the guest's now: a directory is a base for later opens, a file is not
            opened = int.from_bytes(read_guest(caller, rest[-1], 4, what="path_open"), "little")
            self.forget_listing(opened)
            if mode is not None and stat.S_ISDIR(mode):
                self.directories[opened] = path
            else:
                self.directories.pop(opened, None)
        return status

    def readdir(self, caller: wasmtime.Caller, fd: int, buf: int, buf_len: int, cookie: int, used: int) -> int:
        host.check_deadline(self.ctx)
        directory = self.directories.get(fd)
        if directory is None:
            status: int = self._original(caller, "fd_readdir")(caller, fd, buf, buf_len, cookie, used)
            return status
        if cookie == 0 or fd not in self.listings:  # cookie 0 starts (or rewinds) a listing
            self.forget_listing(fd)
            try:
                self.listings[fd] = self._list(directory)
            except OSError as exc:  # gone since it was opened, unreadable, an I/O error: the guest's errno
                return _ERRNO_OF.get(exc.errno or 0, ERRNO_IO)
        listing, out, buf_len = self.listings[fd], bytearray(), buf_len & 0xFFFFFFFF
        # cookie n: the entries after the nth; a u64, which wasmtime gives as a signed i64
        for at in range(cookie & 0xFFFFFFFFFFFFFFFF, len(listing)):
            out += listing[at]
            if len(out) >= buf_len:
                break
        memory = as_memory(caller.get("memory"))
        write_guest(caller, memory, buf, bytes(out[:buf_len]), what="fd_readdir")
        write_guest(caller, memory, used, min(len(out), buf_len).to_bytes(4, "little"), what="fd_readdir")
        return 0

    def close(self, caller: wasmtime.Caller, fd: int) -> int:
        self.forget(fd)
        status: int = self._original(caller, "fd_close")(caller, fd)
        return status

    def renumber(self, caller: wasmtime.Caller, fd: int, to: int) -> int:
        """The renumbered descriptor is forgotten too: it is no base for ``path_open`` and wasmtime lists it."""
        self.forget(fd)
        self.forget(to)
        status: int = self._original(caller, "fd_renumber")(caller, fd, to)
        return status

    def forget(self, fd: int) -> None:
        self.directories.pop(fd, None)
        self.forget_listing(fd)

    def forget_listing(self, fd: int) -> None:
        self.held -= sum(map(len, self.listings.pop(fd, ())))

    def _list(self, directory: str) -> list[bytes]:
        """The directory's entries as WASI dirents, read with the deadline checked as they come, and within the
        share of the memory cap that listings may hold."""
        cap = Budget.of(self.defn.limits, self.defn.capabilities).listing_bytes
        dirents = [_dirent(1, os.stat(directory).st_ino, b".", FILETYPE_DIRECTORY)]
        dirents.append(_dirent(2, os.stat(os.path.join(directory, "..")).st_ino, b"..", FILETYPE_DIRECTORY))
        size = sum(map(len, dirents))
        with os.scandir(os.fsencode(directory)) as entries:
            for cookie, entry in enumerate(entries, len(dirents) + 1):
                if cookie % CHECK_EVERY == 0:
                    host.check_deadline(self.ctx)
                dirents.append(_dirent(cookie, entry.inode(), entry.name, _filetype(entry)))
                size += len(dirents[-1])
                if self.held + size > cap:
                    raise errors.ActivityOutOfMemory(
                        f"{self.defn.ref} listed more of its granted directories than its memory limit lets Loom hold "
                        f"for it ({cap} bytes of directory entries at once)"
                    )
        self.held += size
        return dirents


def _dirent(cookie: int, ino: int, name: bytes, kind: int) -> bytes:
    return _DIRENT.pack(cookie, ino, len(name), kind) + name


def _filetype(entry: os.DirEntry[bytes]) -> int:
    """WASI's filetype of an entry, from the type the listing gave (a stat only when it gave none)."""
    if entry.is_symlink():
        return FILETYPE_SYMLINK
    if entry.is_dir(follow_symlinks=False):
        return FILETYPE_DIRECTORY
    if entry.is_file(follow_symlinks=False):
        return FILETYPE_REGULAR
    try:
        return _FILETYPE.get(stat.S_IFMT(entry.stat(follow_symlinks=False).st_mode), 0)
    except OSError:
        return 0
