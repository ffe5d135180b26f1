"""The data dir against a hostile neighbour or an unlucky disk: it is private whatever the umask; a damaged
journal or registry, a planted blob or lock, a run ID that is a path, a full disk are each refused on one line that
names the file (exit 6 for the data dir), and after the fault is gone the data dir opens, earlier runs are still
listed, and a resume finishes the run."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support import loom, one_error_line
from tests.support.damage import PLANTED, output_blob, plant


def _run(pipeline: Path, x: int = 1, *extra: str, env: dict[str, str] | None = None) -> dict:
    proc = loom("run", str(pipeline), "--input", json.dumps({"x": x}), "--json", *extra, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _listed(env: dict[str, str] | None = None) -> list[str]:
    proc = loom("runs", "list", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    return [run["run_id"] for run in json.loads(proc.stdout)]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- private whatever the umask -----------------------------------------------------------------------------------


def test_everything_in_the_data_dir_is_its_owners_alone(tmp_path: Path, pipeline: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)  # as an older Loom, or mkdir under umask 022, left it
    proc = subprocess.run(
        f"umask 022 && {os.sys.executable} -m pipeline run {pipeline} --input '{{\"x\": 1}}'",
        shell=True,
        capture_output=True,
        text=True,
        env={**os.environ, "LOOM_HOME": str(home)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert _mode(home) == 0o700
    for name in ["journal.sqlite", "registry.sqlite"]:
        assert _mode(home / name) == 0o600, name
    blobs = [p for p in (home / "blobs").rglob("*")]
    assert blobs and all(_mode(p) == (0o700 if p.is_dir() else 0o600) for p in blobs)


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
def test_a_data_dir_others_can_write_is_not_trusted(tmp_path: Path, mode: int) -> None:
    home = tmp_path / "shared-home"
    home.mkdir()
    os.chmod(home, mode)
    proc = loom("runs", "list", env={"LOOM_HOME": str(home)})
    assert proc.returncode == 6
    assert "can be written by others" in one_error_line(proc) and str(home) in proc.stderr
    assert not (home / "journal.sqlite").exists()


# --- a damaged journal or registry ---------------------------------------------------------------------------------


def _truncate_to(size: int):
    def damage(path: Path) -> None:
        os.truncate(path, size(path) if callable(size) else size)

    return damage


def _flip(offset):
    def damage(path: Path) -> None:
        data = bytearray(path.read_bytes())
        at = offset(data) if callable(offset) else offset
        data[at] ^= 0xFF
        path.write_bytes(bytes(data))

    return damage


def _page_size(data: bytes) -> int:
    return int.from_bytes(data[16:18], "big")


DAMAGES = {
    "truncated to 100 bytes": _truncate_to(100),
    "truncated to half": _truncate_to(lambda p: p.stat().st_size // 2),
    "a flipped header byte": _flip(3),
    "a flipped page type in the middle": _flip(lambda data: _page_size(data) * (len(data) // _page_size(data) // 2)),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_journal_is_named_and_costs_nothing_else(loom_home: Path, pipeline: Path, damage: str) -> None:
    first = _run(pipeline)["run_id"]
    journal = loom_home / "journal.sqlite"
    assert not Path(f"{journal}-wal").exists() or Path(f"{journal}-wal").stat().st_size == 0
    DAMAGES[damage](journal)
    for args in [
        ["runs", "list"],
        ["runs", "show", first],
        ["run", str(pipeline), "--input", "{}"],
        ["runs", "resume", first],
    ]:
        proc = loom(*args)
        assert proc.returncode == 6, (args, proc.stderr)
        line = one_error_line(proc)
        assert "journal" in line and str(journal) in line and "move it aside" in line, line
    assert loom("activity", "list").returncode == 0  # the registry is another file
    journal.rename(journal.with_suffix(".damaged"))
    assert _run(pipeline, 2)["status"] == "succeeded"


def test_a_damaged_registry_is_named_and_the_runs_are_still_listed(loom_home: Path, pipeline: Path) -> None:
    first = _run(pipeline)["run_id"]
    registry = loom_home / "registry.sqlite"
    _truncate_to(100)(registry)
    proc = loom("activity", "list")
    assert proc.returncode == 6 and "registry" in one_error_line(proc) and str(registry) in proc.stderr
    assert _listed() == [first]
    registry.rename(registry.with_suffix(".damaged"))
    assert _run(pipeline, 3)["status"] == "succeeded"


def test_a_journal_from_a_newer_loom_is_refused(loom_home: Path, pipeline: Path) -> None:
    _run(pipeline)
    with sqlite3.connect(loom_home / "journal.sqlite") as db:
        db.execute("PRAGMA user_version = 99")
    proc = loom("runs", "list")
    assert proc.returncode == 6 and "schema version 99, made by a newer Loom" in one_error_line(proc)


# --- names and files read back from disk ---------------------------------------------------------------------------


def test_a_run_id_read_back_is_checked_like_one_typed(loom_home: Path, pipeline: Path) -> None:
    first = _run(pipeline)["run_id"]
    with sqlite3.connect(loom_home / "journal.sqlite") as db:
        db.execute(
            "INSERT INTO runs SELECT '../../x', pipeline, spec, input_blob, 'running', created_at + 1, NULL, NULL, "
            "NULL FROM runs WHERE run_id = ?",
            (first,),
        )
    assert set(_listed()) == {first, "../../x"}
    proc = loom("runs", "resume", "../../x")
    assert proc.returncode == 6 and "not a run ID" in one_error_line(proc)
    assert not (loom_home.parent / "x").exists() and not (loom_home / "x").exists()


@pytest.mark.parametrize("planted", ["symlink", "directory"])
def test_a_planted_run_lock_is_refused_and_the_runs_still_list(loom_home: Path, pipeline: Path, planted: str) -> None:
    first = _run(pipeline)["run_id"]
    lock = loom_home / "journal.sqlite.locks" / first
    lock.unlink(missing_ok=True)
    if planted == "symlink":
        lock.symlink_to(loom_home.parent / "elsewhere")
    else:
        lock.mkdir()
    with sqlite3.connect(loom_home / "journal.sqlite") as db:  # as a run whose process died leaves it
        db.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", (first,))
    assert _listed() == [first]
    proc = loom("runs", "resume", first)
    assert proc.returncode == 6 and "run lock" in one_error_line(proc) and "regular file" in proc.stderr
    assert not (loom_home.parent / "elsewhere").exists()


@pytest.mark.parametrize("planted", PLANTED)
def test_a_damaged_cached_output_is_a_miss_that_repairs_it(loom_home: Path, pipeline: Path, planted: str) -> None:
    first = _run(pipeline)
    blob = output_blob(loom_home, first["run_id"])
    original = plant(blob, planted)
    shown = loom("runs", "show", first["run_id"], timeout=60)  # the damaged blob is refused at once, never read
    assert shown.returncode == 1 and "blob" in one_error_line(shown)
    again = _run(pipeline)
    assert again["executed"] == 1 and again["cached"] == 0 and again["output"] == first["output"]
    assert blob.is_file() and not blob.is_symlink() and blob.read_bytes() == original


# --- a full disk -------------------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 64 MiB tmpfs of the test's own, removed after it (no test fills the real disk)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", str(mount)], check=False, capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as file:
        try:
            while True:
                file.write(b"\0" * 65536)
                file.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_is_one_line_and_the_run_resumes_once_it_has_room(
    small_disk: Path, pipeline: Path, built: Path
) -> None:
    env = {"LOOM_HOME": str(small_disk / "home")}
    first = _run(pipeline, 1, env=env)["run_id"]
    filler = _fill(small_disk)
    must_write = {
        "run": ["run", str(pipeline), "--input", '{"x": 2}'],
        "register": [
            "activity",
            "register",
            str(built / "wasm" / "echo.wasm"),
            "--name",
            "z",
            "--version",
            "9.9.9",
            "--runtime",
            "wasm",
        ],
    }
    may_write = {"activity run": ["activity", "run", "echo", "--input", '{"fresh": "input"}'], "list": ["runs", "list"]}
    for what, args in {**must_write, **may_write}.items():
        proc = loom(*args, env=env, timeout=120)
        if what in must_write or proc.returncode:
            assert proc.returncode == 6, (what, proc.stderr)
            assert "StoreUnwritable" in one_error_line(proc), what
    filler.unlink()
    assert first in _listed(env)
    runs = json.loads(loom("runs", "list", "--json", env=env).stdout)
    for run in runs:
        if run["status"] != "succeeded":
            resumed = loom("runs", "resume", run["run_id"], "--json", env=env)
            assert resumed.returncode == 0, resumed.stderr
    assert _run(pipeline, 2, env=env)["status"] == "succeeded"
