"""WASI programs as activities (``runtime: wasi``): the sandbox first (nothing granted unless granted, every limit
holds, every failure typed), then the two shipped programs against native builds of the same sources."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from pydantic import ValidationError

from pipeline import errors
from pipeline.activities import register_builtins
from pipeline.core import ActivityDefinition, Capabilities, Limits, WasiDir
from pipeline.flow import PipelineSpec, Runner
from pipeline.sandbox import LOG_CALL_BYTES, LOG_LINE_BYTES, WasiExecutor
from pipeline.store import default_blobstore, default_registry
from tests.support.wat import rust_abi_module

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LOOM_CACHE", Path.home() / ".cache" / "loom"))

# A WASI command in WAT: $write(fd, ptr, len) -> errno, $echo copies stdin (up to 60000 bytes) to stdout.
WASI_WAT = """
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") {pages})
  (data (i32.const 256) "{data}")
  {extra}
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func $echo
    (i32.store (i32.const 0) (i32.const 4096))
    (i32.store (i32.const 4) (i32.const 60000))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $write (i32.const 1) (i32.const 4096) (i32.load (i32.const 8)))))
  (func (export "_start") {body}))
"""


def wasi_module(body: str = "(call $echo)", data: str = "", pages: int = 2, extra: str = "") -> bytes:
    return wasmtime.wat2wasm(WASI_WAT.format(body=body, data=data, pages=pages, extra=extra))


# A C probe of the sandbox, built with clang and wasi-libc: its input is one JSON string "OP ARG".
PROBE_C = r"""
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
extern char **environ;

int main(int argc, char **argv) {
    char in[4096] = {0};
    size_t n = fread(in, 1, sizeof in - 1, stdin);
    if (n < 2) return 1;
    in[n - 1] = 0;
    char *op = in + 1, *arg = strchr(op, ' ');
    if (arg) *arg++ = 0; else arg = "";
    if (!strcmp(op, "read")) {
        FILE *f = fopen(arg, "r");
        if (!f) { fprintf(stderr, "cannot open %s: %s\n", arg, strerror(errno)); return 3; }
        char buf[256] = {0};
        fread(buf, 1, sizeof buf - 1, f);
        printf("{\"read\": \"%s\"}", buf);
    } else if (!strcmp(op, "write")) {
        FILE *f = fopen(arg, "w");
        if (!f) { fprintf(stderr, "cannot write %s: %s\n", arg, strerror(errno)); return 4; }
        fputs("pwned", f);
        fclose(f);
        printf("{\"wrote\": true}");
    } else if (!strcmp(op, "list")) {
        DIR *d = opendir(arg);
        if (!d) { fprintf(stderr, "cannot list %s: %s\n", arg, strerror(errno)); return 3; }
        int count = 0;
        printf("{\"names\": [");
        for (struct dirent *e; (e = readdir(d)); count++)
            if (count < 100) printf("%s\"%s\"", count ? ", " : "", e->d_name);
        printf("], \"count\": %d}", count);
        closedir(d);
    } else if (!strcmp(op, "env")) {
        int count = 0;
        for (char **e = environ; *e; e++) count++;
        const char *v = getenv(arg);
        printf("{\"count\": %d, \"value\": %s%s%s}", count, v ? "\"" : "", v ? v : "null", v ? "\"" : "");
    } else if (!strcmp(op, "args")) {
        printf("{\"argc\": %d, \"argv0\": \"%s\"}", argc, argv[0]);
    } else if (!strcmp(op, "sleep")) {
        sleep(60);
        printf("{}");
    } else if (!strcmp(op, "spin")) {
        for (volatile unsigned long i = 0;; i++) {}
    } else if (!strcmp(op, "malloc")) {
        void *volatile kept;  /* so that the compiler keeps the allocations */
        for (;;) if (!(kept = malloc(1 << 20))) { fprintf(stderr, "malloc failed\n"); return 5; }
    } else {
        fprintf(stderr, "unknown op %s\n", op);
        return 1;
    }
    return 0;
}
"""


def _clang() -> str:
    clang = shutil.which("clang-16")
    if clang is None or not Path("/usr/lib/wasm32-wasi/libc.a").is_file():
        pytest.fail("clang-16 and wasi-libc are missing: run `make system`")
    return clang


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    root = tmp_path_factory.mktemp("probe")
    (root / "probe.c").write_text(PROBE_C)
    subprocess.run(
        [_clang(), "--target=wasm32-wasi", "--sysroot=/usr", "-O1", "-o", root / "probe.wasm", root / "probe.c"],
        check=True,
    )
    return (root / "probe.wasm").read_bytes()


@pytest.fixture
def wasi(executor) -> WasiExecutor:
    return WasiExecutor.beside(executor)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- nothing unless granted -----------------------------------------------------------------------------------


def test_a_file_cannot_be_opened_without_a_grant(wasi, define, probe) -> None:
    with pytest.raises(errors.ActivityExited, match="cannot open /etc/passwd") as caught:
        wasi.run(define(probe, "wasi"), "read /etc/passwd")
    assert caught.value.status == 3 and not caught.value.retryable and caught.value.exit_code == 1


def test_the_environment_is_empty_and_args_are_the_name_alone(wasi, define, probe, monkeypatch) -> None:
    monkeypatch.setenv("HOME", "/root")
    monkeypatch.setenv("LOOM_SECRET_HOME", "leaked")
    defn = define(probe, "wasi", name="probe")
    assert wasi.run(defn, "env HOME") == {"count": 0, "value": None}
    assert wasi.run(defn, "args") == {"argc": 1, "argv0": "probe"}


def test_a_granted_variable_is_the_secret_of_that_name(wasi, define, probe, monkeypatch) -> None:
    monkeypatch.setenv("LOOM_SECRET_api_token", "s3cret")
    defn = define(probe, "wasi", capabilities=Capabilities(secrets=("api_token",), wasi_env=("api_token",)))
    assert wasi.run(defn, "env api_token") == {"count": 1, "value": "s3cret"}
    monkeypatch.delenv("LOOM_SECRET_api_token")
    assert wasi.run(defn, "env api_token") == {"count": 0, "value": None}


def test_a_variable_must_be_a_granted_secret() -> None:
    with pytest.raises(ValidationError, match="must also be listed in secrets"):
        Capabilities(wasi_env=("HOME",))


def test_sleeping_is_refused_at_once(wasi, define, probe) -> None:
    """A wait inside the host is out of reach of epoch interruption: refused, long before the deadline."""
    started = time.monotonic()
    with pytest.raises(errors.CapabilityDenied, match="poll_oneoff"):
        wasi.run(define(probe, "wasi", limits=Limits(wall_clock_ms=10_000)), "sleep")
    assert time.monotonic() - started < 2


def test_a_loop_forever_stops_at_the_deadline(wasi, define, probe) -> None:
    started = time.monotonic()
    with pytest.raises(errors.ActivityTimeout, match="deadline of 300 ms"):
        wasi.run(define(probe, "wasi", limits=Limits(wall_clock_ms=300, fuel=10**15)), "spin")
    assert time.monotonic() - started < 3


def test_a_loop_forever_stops_when_its_fuel_runs_out(wasi, define) -> None:
    with pytest.raises(errors.ActivityOutOfFuel):
        wasi.run(define(wasi_module("(loop $l (br $l))"), "wasi", limits=Limits(fuel=1_000_000)), {})


# --- the memory cap and the output cap ------------------------------------------------------------------------


def test_a_memory_bomb_stops_at_the_cap(wasi, define) -> None:
    bomb = wasi_module("(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable")
    before = _peak_rss_mib()
    with pytest.raises(errors.ActivityOutOfMemory, match="limit 16 MiB"):
        wasi.run(define(bomb, "wasi", limits=Limits(memory_mib=16)), {})
    assert _peak_rss_mib() - before < 100


def test_malloc_fails_at_the_cap(wasi, define, probe) -> None:
    with pytest.raises(errors.ActivityExited, match="malloc failed"):
        wasi.run(define(probe, "wasi", limits=Limits(memory_mib=16)), "malloc")


def test_a_table_bomb_is_refused_its_growth(wasi, define) -> None:
    bomb = wasi_module(
        "(if (i32.eq (table.grow $t (ref.null func) (i32.const 50000000)) (i32.const -1)) (then unreachable))",
        extra="(table $t 1 funcref)",
    )
    before = _peak_rss_mib()
    with pytest.raises(errors.ActivityTrapped, match="unreachable"):
        wasi.run(define(bomb, "wasi", limits=Limits(memory_mib=4)), {})
    assert _peak_rss_mib() - before < 100


def test_a_large_initial_table_is_refused(wasi, define) -> None:
    with pytest.raises(errors.ActivityOutOfMemory, match="limit of 1 MiB"):
        wasi.run(define(wasi_module(extra="(table 10000000 funcref)"), "wasi", limits=Limits(memory_mib=1)), {})


def test_output_past_its_cap_is_refused_even_when_the_guest_traps_next(wasi, define) -> None:
    """64 KiB writes until one fails, then a trap: the cap is the reason given, and collecting stopped at 1 MiB."""
    flood = wasi_module(
        "(loop $l (br_if $l (i32.eqz (call $write (i32.const 1) (i32.const 4096) (i32.const 65536))))) unreachable"
    )
    with pytest.raises(errors.OutputTooLarge, match="1048576 bytes"):
        wasi.run(define(flood, "wasi", limits=Limits(output_mib=1)), {})


def test_a_write_outside_memory_is_a_trap(wasi, define) -> None:
    with pytest.raises(errors.ActivityTrapped, match="outside the guest's memory"):
        wasi.run(
            define(wasi_module("(drop (call $write (i32.const 2) (i32.const 131000) (i32.const 4096)))"), "wasi"), {}
        )


def test_writes_to_any_other_descriptor_are_refused(wasi, define) -> None:
    body = "(call $proc_exit (call $write (i32.const 3) (i32.const 256) (i32.const 1)))"
    with pytest.raises(errors.ActivityExited) as caught:
        wasi.run(define(wasi_module(body, data="x"), "wasi"), {})
    assert caught.value.status == 8  # EBADF


# --- stdout, stderr and exit codes ----------------------------------------------------------------------------


def test_stdin_to_stdout(wasi, define) -> None:
    document = {"text": "Zürich ✓", "n": [1, 2.5, None]}
    assert wasi.run(define(wasi_module(), "wasi"), document) == document


def test_exit_zero_is_success_and_other_codes_quote_the_last_stderr_line(wasi, define) -> None:
    said = "(drop (call $write (i32.const 2) (i32.const 256) (i32.const 16)))"
    ok = define(
        wasi_module(f"(call $echo) {said} (call $proc_exit (i32.const 0))", data="first\\0alast words"),
        "wasi",
        name="ok",
    )
    assert wasi.run(ok, {"a": 1}) == {"a": 1}
    failing = define(wasi_module(f"{said} (call $proc_exit (i32.const 7))", data="first\\0alast words"), "wasi")
    with pytest.raises(errors.ActivityExited, match=r"exited with code 7: last words$") as caught:
        wasi.run(failing, {})
    assert caught.value.status == 7
    with pytest.raises(errors.ActivityExited, match="nothing on stderr"):
        wasi.run(define(wasi_module("(call $proc_exit (i32.const 1))"), "wasi", name="mute"), {})


def test_stdout_that_is_not_json_is_invalid_output(wasi, define) -> None:
    module = wasi_module("(drop (call $write (i32.const 1) (i32.const 256) (i32.const 3)))", data="no!")
    with pytest.raises(errors.InvalidOutput, match="not JSON"):
        wasi.run(define(module, "wasi"), {})


def test_stderr_lines_go_to_the_log_within_its_caps(wasi, define) -> None:
    """Lines split across writes are joined; a long line is cut; past the call's log budget, lines are dropped."""
    split = (
        "(drop (call $write (i32.const 2) (i32.const 256) (i32.const 3))) "
        "(drop (call $write (i32.const 2) (i32.const 259) (i32.const 2))) "
    )
    flood = """(memory.fill (i32.const 4096) (i32.const 120) (i32.const 65535))
        (i32.store8 (i32.const 69631) (i32.const 10))
        (loop $l (drop (call $write (i32.const 2) (i32.const 4096) (i32.const 65536)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 40))))
        (drop (call $write (i32.const 1) (i32.const 261) (i32.const 2)))"""
    module = wasi_module("(local $i i32) " + split + flood, data="a\\0abc\\0a{}")
    lines: list[tuple[str, str]] = []
    assert wasi.run(define(module, "wasi"), {}, log=lambda level, text: lines.append((level, text))) == {}
    assert lines[:2] == [("info", "a"), ("info", "bc")]
    cut = "x" * LOG_LINE_BYTES + f"... ({65535 - LOG_LINE_BYTES} more bytes cut)"
    assert lines[2] == ("info", cut)
    assert lines[-1][0] == "warn" and "further lines are dropped" in lines[-1][1]
    assert len(lines) == 2 + LOG_CALL_BYTES // 65535 + 1


# --- granted directories --------------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "secret.txt").write_text("outside")
    granted = tmp_path / "data"
    granted.mkdir()
    (granted / "in.txt").write_text("hello")
    return granted


def test_a_granted_directory_can_be_read_and_not_written(wasi, define, probe, data_dir) -> None:
    defn = define(probe, "wasi", capabilities=Capabilities(wasi_dirs=(WasiDir(host=str(data_dir), guest="/data"),)))
    assert wasi.run(defn, "read /data/in.txt") == {"read": "hello"}
    for path in ("/data/out.txt", "/data/in.txt"):
        with pytest.raises(errors.ActivityExited, match=f"cannot write {path}"):
            wasi.run(defn, f"write {path}")
    assert sorted(p.name for p in data_dir.iterdir()) == ["in.txt"] and (data_dir / "in.txt").read_text() == "hello"
    with pytest.raises(errors.ActivityExited, match="cannot open"):
        wasi.run(defn, "read /data/../secret.txt")


def test_a_granted_directory_is_listed_as_it_is(wasi, define, probe, data_dir) -> None:
    (data_dir / "sub").mkdir()
    (data_dir / "sub" / "deeper.txt").write_text("x")
    (data_dir / "link").symlink_to("in.txt")
    defn = define(probe, "wasi", capabilities=Capabilities(wasi_dirs=(WasiDir(host=str(data_dir), guest="/data"),)))
    listed = wasi.run(defn, "list /data")
    assert sorted(listed["names"]) == sorted([".", "..", "in.txt", "sub", "link"]) and listed["count"] == 5
    assert sorted(wasi.run(defn, "list /data/sub")["names"]) == [".", "..", "deeper.txt"]
    assert wasi.run(defn, "read /data/sub/deeper.txt") == {"read": "x"}  # opened relative to a directory it listed
    with pytest.raises(errors.ActivityExited, match=r"cannot list /data/in\.txt"):
        wasi.run(defn, "list /data/in.txt")


@pytest.mark.parametrize("kind", ["FIFO", "a symlink to a FIFO", "a symlink to a device"])
def test_a_fifo_or_device_in_a_granted_directory_is_refused_not_waited_on(
    wasi, define, probe, data_dir, kind: str
) -> None:
    """Opening a FIFO blocks until someone writes to it, inside the host where no deadline reaches."""
    os.mkfifo(data_dir / "fifo")
    if kind == "a symlink to a FIFO":
        (data_dir / "thing").symlink_to("fifo")
    elif kind == "a symlink to a device":
        (data_dir / "thing").symlink_to("/dev/zero")
    name, refused = ("fifo", "FIFO") if kind == "FIFO" else ("thing", "FIFO" if "FIFO" in kind else "character device")
    grant = Capabilities(wasi_dirs=(WasiDir(host=str(data_dir), guest="/data"),))
    defn = define(probe, "wasi", capabilities=grant, limits=Limits(wall_clock_ms=2000))
    started = time.monotonic()
    with pytest.raises(errors.CapabilityDenied, match=f"opened '{name}' in a granted directory, which is a {refused}"):
        wasi.run(defn, f"read /data/{name}")
    assert time.monotonic() - started < 1.0
    assert wasi.run(defn, "read /data/in.txt") == {"read": "hello"}  # the rest of the directory is as it was


def test_a_fifo_behind_a_path_too_long_for_the_host_is_refused_too(wasi, define, probe, data_dir) -> None:
    """wasmtime walks a path one component at a time, so it opens paths longer than the host's PATH_MAX when
    joined to the granted directory: the look before the open must not give up on them."""
    os.mkfifo(data_dir / "fifo")
    grant = Capabilities(wasi_dirs=(WasiDir(host=str(data_dir), guest="/data"),))
    defn = define(probe, "wasi", capabilities=grant, limits=Limits(wall_clock_ms=2000))
    relative = "./" * ((4080 - len("fifo")) // 2) + "fifo"  # fits the probe's input; with the host dir, > PATH_MAX
    assert len(str(data_dir)) + 1 + len(relative) > 4096
    started = time.monotonic()
    with pytest.raises(errors.ActivityExited, match="cannot open"):  # the guest is told the name is too long
        wasi.run(defn, f"read /data/{relative}")
    assert time.monotonic() - started < 1.0


# fd_readdir of the first preopened directory (fd 3) from a cookie past every entry, as a signed i64 (-1): writes
# [] when the listing served any bytes, {} when none.
READDIR_PAST_THE_END = """
(module
  (import "wasi_snapshot_preview1" "fd_readdir" (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "[]{}")
  (func (export "_start")
    (drop (call $readdir (i32.const 3) (i32.const 1024) (i32.const 4096) (i64.const -1) (i32.const 8)))
    (i32.store (i32.const 0) (select (i32.const 16) (i32.const 18) (i32.load (i32.const 8))))
    (i32.store (i32.const 4) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))))
"""


def test_a_listing_cookie_is_unsigned(wasi, define, data_dir) -> None:
    """Cookie 2^64 - 1 is past the end of any listing (read as a signed -1, it would index from the end)."""
    grant = Capabilities(wasi_dirs=(WasiDir(host=str(data_dir), guest="/data"),))
    defn = define(wasmtime.wat2wasm(READDIR_PAST_THE_END), "wasi", capabilities=grant)
    assert wasi.run(defn, {}) == {}


def _granted_directory_of(directory: Path, entries: int) -> Capabilities:
    """A new directory of ``entries`` empty files, granted as /NAME."""
    directory.mkdir()
    for i in range(entries):
        (directory / f"{i:06d}").touch()
    return Capabilities(wasi_dirs=(WasiDir(host=str(directory), guest=f"/{directory.name}"),))


def test_a_huge_directory_is_listed_within_the_deadline(wasi, define, probe, tmp_path) -> None:
    """wasmtime reads a whole directory on each fd_readdir call (seconds for 100,000 entries, more than a
    deadline); Loom lists it once, checking the deadline as it reads."""
    grant = _granted_directory_of(tmp_path / "huge", 100_000)
    defn = define(probe, "wasi", capabilities=grant, limits=Limits(wall_clock_ms=500))
    started = time.monotonic()
    try:
        listed = wasi.run(defn, "list /huge")
    except errors.ActivityTimeout:
        listed = None
    assert time.monotonic() - started < 1.5
    assert listed is None or listed["count"] == 100_002  # every entry, once (and . and ..)
    fast = define(probe, "wasi", name="patient", capabilities=grant, limits=Limits(wall_clock_ms=60_000))
    assert wasi.run(fast, "list /huge")["count"] == 100_002


# Opens the directory "sub" of the first preopened directory, waits until a file "go" appears beside it, then lists
# "sub" (rights: fd_readdir): writes {} when the listing failed with an errno, [] when it succeeded; traps when "sub"
# cannot be opened.
LIST_AFTER_GO = """
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "[]{}")
  (data (i32.const 32) "sub")
  (data (i32.const 48) "go")
  (func (export "_start")
    (if (call $open (i32.const 3) (i32.const 0) (i32.const 32) (i32.const 3) (i32.const 2)
          (i64.const 0x4000) (i64.const 0x4000) (i32.const 0) (i32.const 64))
      (then unreachable))
    (loop $wait
      (br_if $wait (call $open (i32.const 3) (i32.const 0) (i32.const 48) (i32.const 2) (i32.const 0)
          (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 68))))
    (i32.store (i32.const 0)
      (select (i32.const 18) (i32.const 16)
        (call $readdir (i32.load (i32.const 64)) (i32.const 1024) (i32.const 4096) (i64.const 0) (i32.const 8))))
    (i32.store (i32.const 4) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))))
"""


def test_a_directory_that_fails_while_listed_is_an_errno_not_a_trap(wasi, define, data_dir) -> None:
    """The guest opened "sub", and it was removed before the guest listed it: Loom's listing of it fails on the
    host, and the guest gets an errno, as from any failed call (an exception in a host function is a trap)."""

    (data_dir / "sub").mkdir()
    grant = Capabilities(wasi_dirs=(WasiDir(host=str(data_dir), guest="/data"),))
    defn = define(wasmtime.wat2wasm(LIST_AFTER_GO), "wasi", capabilities=grant, limits=Limits(wall_clock_ms=20_000))

    def meanwhile() -> None:
        time.sleep(1.0)
        (data_dir / "sub").rmdir()
        (data_dir / "go").touch()

    remover = threading.Thread(target=meanwhile)
    remover.start()
    try:
        assert wasi.run(defn, {}) == {}
    finally:
        remover.join()


def test_directory_listings_count_against_the_memory_cap(wasi, define, probe, tmp_path) -> None:
    """Loom holds a directory's listing for the guest: 20,000 entries are more than an activity with a 2 MiB cap
    may make the host hold (an eighth of it), and the same listing is given to one with the default cap."""
    grant = _granted_directory_of(tmp_path / "crowded", 20_000)
    small = define(probe, "wasi", capabilities=grant, limits=Limits(memory_mib=2))
    with pytest.raises(errors.ActivityOutOfMemory, match=r"262144 bytes of directory entries"):
        wasi.run(small, "list /crowded")
    roomy = define(probe, "wasi", name="roomy", capabilities=grant)
    assert wasi.run(roomy, "list /crowded")["count"] == 20_002


def test_a_granted_directory_must_be_an_absolute_existing_directory(tmp_path) -> None:
    for host, guest in [
        ("relative/dir", "/data"),
        (str(tmp_path / ".." / "x"), "/data"),
        (str(tmp_path), "data"),
        (str(tmp_path / "missing"), "/data"),
        (str(tmp_path), "/data/../etc"),
    ]:
        with pytest.raises(ValidationError):
            WasiDir(host=host, guest=guest)
    with pytest.raises(ValidationError, match="share a guest path"):
        Capabilities(wasi_dirs=(WasiDir(host=str(tmp_path), guest="/d"), WasiDir(host="/tmp", guest="/d")))


def test_a_stored_grant_whose_directory_vanished_still_loads_and_its_calls_are_denied(
    wasi, define, probe, data_dir
) -> None:
    defn = define(probe, "wasi", capabilities=Capabilities(wasi_dirs=(WasiDir(host=str(data_dir), guest="/d"),)))
    for child in data_dir.iterdir():
        child.unlink()
    data_dir.rmdir()
    stored = ActivityDefinition.model_validate_json(defn.model_dump_json())
    assert stored == defn
    with pytest.raises(errors.CapabilityDenied, match="cannot be opened"):
        wasi.run(stored, "read /d/in.txt")


# --- registration ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wat", "reason"),
    [
        ('(memory (export "memory") 1) (func (export "_initialize"))', "WASI reactor"),
        (
            '(import "loom" "log" (func (param i32 i32 i32))) (memory (export "memory") 1) (func (export "_start"))',
            "may import only from wasi_snapshot_preview1; this one imports loom/log",
        ),
        (
            '(import "env" "abort" (func (param i32 i32 i32 i32))) (memory (export "memory") 1) '
            '(func (export "_start"))',
            "imports env/abort",
        ),
        ('(memory (export "memory") 1) (func (export "_start") (param i32))', "no parameters and no results"),
        (
            '(import "wasi_snapshot_preview1" "sock_open" (func (param i32) (result i32))) '
            '(memory (export "memory") 1) (func (export "_start"))',
            "must be WASI preview 1 functions: .*sock_open",
        ),
        (
            '(import "wasi_snapshot_preview1" "fd_write" (func (param i32))) (memory (export "memory") 1) '
            '(func (export "_start"))',
            "must be WASI preview 1 functions: .*fd_write",
        ),
        ('(memory (export "memory") 1) (func (export "run"))', "must export _start"),
    ],
)
def test_a_module_that_is_not_a_wasi_command_is_refused(define, wat: str, reason: str) -> None:
    with pytest.raises(errors.InvalidModule, match=reason):
        define(wasmtime.wat2wasm(f"(module {wat})"), "wasi")


def test_the_rust_abi_echo_is_not_a_wasi_command_nor_a_wasi_program_a_rust_abi_activity(define) -> None:
    with pytest.raises(errors.InvalidModule, match="must export _start"):
        define(rust_abi_module(), "wasi")
    with pytest.raises(errors.InvalidModule, match="runtime 'wasi'"):
        define(wasi_module(), "wasm")


def _loom(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        timeout=300,
        input=stdin,
        env=os.environ,
        check=False,
    )


def test_the_cli_registers_and_runs_a_wasi_command(built, tmp_path) -> None:
    """...and the process exits cleanly: no wasmtime thread calls into Python while it shuts down."""
    registered = _loom(
        "activity",
        "register",
        str(built / "wasi" / "json-canon.wasm"),
        "--name",
        "canon",
        "--version",
        "1.0.0",
        "--runtime",
        "wasi",
    )
    assert registered.returncode == 0, registered.stderr
    ran = _loom("activity", "run", "canon", "--input", '{"document": {"b": 1, "a": 2}}')
    assert ran.returncode == 0 and json.loads(ran.stdout) == {"bytes": 13, "canonical": '{"a":2,"b":1}'}, ran.stderr
    assert "panicked" not in ran.stderr
    reactor = tmp_path / "reactor.wasm"
    reactor.write_bytes(wasmtime.wat2wasm('(module (memory (export "memory") 1) (func (export "_initialize")))'))
    refused = _loom("activity", "register", str(reactor), "--name", "r", "--version", "1.0.0", "--runtime", "wasi")
    assert refused.returncode == 2 and "WASI reactor" in refused.stderr


# --- the shipped programs, against native builds of the same sources ------------------------------------------


@pytest.fixture(scope="session")
def native_json_canon() -> Path:
    """json-canon built for the host, in a cache target dir of its own."""
    cargo = shutil.which("cargo") or "/usr/bin/cargo"
    target = CACHE / "target" / "wasi-native"
    subprocess.run(
        [
            cargo,
            "build",
            "--quiet",
            "--locked",
            "--release",
            "--manifest-path",
            REPO / "rust-guests" / "wasi" / "json-canon" / "Cargo.toml",
        ],
        env={**os.environ, "CARGO_TARGET_DIR": str(target)},
        check=True,
    )
    return target / "release" / "json-canon"


@pytest.fixture(scope="session")
def native_csv_to_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = tmp_path_factory.mktemp("native") / "csv-to-json"
    subprocess.run(["cc", "-std=c11", "-O2", "-o", binary, REPO / "activities" / "c" / "csv-to-json.c"], check=True)
    return binary


def _native(binary: Path, document: Any) -> tuple[int, Any, list[str]]:
    """Exit code, parsed stdout (when it succeeded) and stderr lines of the native program on Loom's stdin."""
    stdin = json.dumps(document, ensure_ascii=False, allow_nan=False).encode()
    proc = subprocess.run([binary], input=stdin, capture_output=True, timeout=60, check=False)
    return proc.returncode, json.loads(proc.stdout) if proc.returncode == 0 else None, proc.stderr.decode().splitlines()


def _in_loom(wasi: WasiExecutor, defn: ActivityDefinition, document: Any) -> tuple[int, Any, list[str]]:
    lines: list[str] = []
    try:
        output = wasi.run(defn, document, log=lambda _level, text: lines.append(text))
    except errors.ActivityExited as exc:
        return exc.status, None, lines
    return 0, output, lines


FLAGSHIP_BODY = '{"foo": "bar", "bazz": 123, "buzz": [1,"5"]}'
CANON_CASES = [
    {"document": FLAGSHIP_BODY},
    {"document": '{"z": {"b": [true, false, null], "a": -0.0}, "é": "\\u00e9\\n\\"", "big": 18446744073709551615}'},
    {"document": '[1e-7, 0.1, 1.5e300, -12, 3.0, "\\ud83d\\ude00"]'},
    {"document": {"not": "text", "but": ["a", "value"], "a": {}}},
    {"document": "   \n"},
    {"document": '{"a": 1} trailing'},
    {"nothing": True},
]
CSV_CASES = [
    {"csv": "name,qty\nfoo,1\nbar,2\n"},
    {"csv": 'city,note\r\n"Zürich","a, ""quoted"" note"\r\n\r\nOslo,"two\nlines"\r\n,\r\n'},
    {"csv": 'a\n\u0001\n""\n'},
    {"csv": ""},
    {"csv": "a,b\n1\n"},
    {"csv": "a,b\n1,2,3\n"},
    {"csv": 'a\n"open\n'},
    {"csv": "a,a\n1,2\n"},
    {"csv": 'a\nx"y\n'},
    {"csv": 5},
    {"tsv": "a\tb"},
]


@pytest.mark.parametrize("document", CANON_CASES, ids=range(len(CANON_CASES)))
def test_json_canon_matches_its_native_build(wasi, define, built, native_json_canon, document) -> None:
    defn = define(built / "wasi" / "json-canon.wasm", "wasi", name="json-canon")
    assert _in_loom(wasi, defn, document) == _native(native_json_canon, document)


@pytest.mark.parametrize("document", CSV_CASES, ids=range(len(CSV_CASES)))
def test_csv_to_json_matches_its_native_build(wasi, define, built, native_csv_to_json, document) -> None:
    defn = define(built / "wasi" / "csv-to-json.wasm", "wasi", name="csv-to-json")
    assert _in_loom(wasi, defn, document) == _native(native_csv_to_json, document)


def test_both_programs_as_pipeline_steps_on_the_flagship_data(built, native_json_canon, native_csv_to_json) -> None:
    registered = {d.name: d.runtime.value for d in register_builtins(default_blobstore(), default_registry())}
    assert registered["json-canon"] == registered["csv-to-json"] == "wasi"
    spec = PipelineSpec.model_validate(
        {
            "name": "wasi-steps",
            "steps": {
                "parse": {"activity": "http-parse", "input": {"message": "${input.response}"}},
                "canon": {"activity": "json-canon", "input": {"document": "${steps.parse.output.body}"}},
                "table": {"activity": "csv-to-json", "input": {"csv": "${input.csv}"}},
            },
            "output": {"canonical": "${steps.canon.output.canonical}", "table": "${steps.table.output}"},
        }
    )
    response = json.loads((REPO / "examples" / "http-claim.input.json").read_text())["response"]
    csv = "claim,holds\nbazz == 123,true\n"
    result = Runner().run(spec, {"response": response, "csv": csv})
    assert result.status == "succeeded", result.error
    assert result.output["canonical"] == '{"bazz":123,"buzz":[1,"5"],"foo":"bar"}'
    assert result.output["canonical"] == _native(native_json_canon, {"document": FLAGSHIP_BODY})[1]["canonical"]
    assert result.output["table"] == _native(native_csv_to_json, {"csv": csv})[1]
