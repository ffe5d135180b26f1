"""The build itself: the real compiled native module, both guest targets, reproducible image IDs, the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from pipeline import _native, zk

REPO = Path(__file__).resolve().parent.parent
IMAGE_IDS = REPO / "rust-guests" / "zkvm" / "image-ids.json"


def test_native_module_is_the_compiled_extension() -> None:
    assert Path(_native.__file__).suffix == ".so"
    info = _native.build_info()
    assert info["risc0_zkvm"].startswith("5.") and info["profile"] == "release"
    assert _native.__version__ == info["loom_native"]
    assert info["target_cpu"] in {"x86-64", "native"}  # the Makefile's CPU


RISC0_PINS = {  # every place that names the risc0-zkvm release Loom proves with, and how it names it
    "native/Cargo.toml": r'risc0-zkvm = \{ version = "=([^"]+)"',
    "rust-guests/zkvm/Cargo.toml": r'risc0-zkvm = \{ version = "=([^"]+)"',
    "benches/risc0-host/Cargo.toml": r'risc0-zkvm = \{ version = "=([^"]+)"',
    "scripts/patch-risc0.sh": r"version=\$\{1:-([^}]+)\}",
}


def test_one_risc0_release_everywhere() -> None:
    """The native module, the guests, the Rust reference host and the recursion patch name the same risc0-zkvm
    release, and `loom info` shows it (from risc0-zkvm's own version constant, never a copy of the pin)."""
    pins = {path: re.search(pattern, (REPO / path).read_text()) for path, pattern in RISC0_PINS.items()}
    assert all(pins.values()), pins
    assert {m.group(1) for m in pins.values() if m} == {_native.build_info()["risc0_zkvm"]}
    lock = (REPO / "native" / "Cargo.lock").read_text()
    assert f'name = "risc0-zkvm"\nversion = "{_native.build_info()["risc0_zkvm"]}"' in lock


def test_rust_wasm_guest_runs_under_wasmtime(built: Path) -> None:
    """The echo activity through its raw ABI: alloc, write, run -> (ptr << 32 | len), read, dealloc."""
    store = wasmtime.Store()
    instance = wasmtime.Instance(store, wasmtime.Module.from_file(store.engine, built / "wasm" / "echo.wasm"), [])
    exports = instance.exports(store)
    memory, payload = exports["memory"], b'{"hi":[1,2]}'
    ptr = exports["alloc"](store, len(payload))
    memory.write(store, payload, ptr)
    packed = exports["run"](store, ptr, len(payload))
    out_ptr, out_len = packed >> 32, packed & 0xFFFFFFFF
    assert json.loads(memory.read(store, out_ptr, out_ptr + out_len)) == {"bytes": 12, "echo": {"hi": [1, 2]}}
    exports["dealloc"](store, out_ptr, out_len)


def test_guest_image_ids_are_reproducible() -> None:
    """A rebuild from these sources must give the pinned image IDs (`make image-ids` rewrites the pin)."""
    pinned = json.loads(IMAGE_IDS.read_text())
    built = {name: zk.load_guest(name).image_id for name in zk.guest_names()}
    assert built == pinned


def test_image_id_of_elf_equals_image_id_of_combined_binary(built: Path) -> None:
    elf = (built / "zkvm" / "hello.elf").read_bytes()
    assert len(_native.image_id(elf)) == 64
    assert _native.image_id(elf) != _native.image_id((built / "zkvm" / "sha-chain.elf").read_bytes())


def _loom(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, timeout=120)


def _commands(group: list[str]) -> list[list[str]]:
    """Every command path below `loom <group>`, read from the live click tree."""
    import typer.main

    from pipeline.cli import app

    node = typer.main.get_command(app)
    for name in group:
        node = node.commands[name]  # type: ignore[attr-defined]
    subs = getattr(node, "commands", {})
    return [group] + [path for name in sorted(subs) for path in _commands([*group, name])]


@pytest.mark.parametrize("path", _commands([]), ids=lambda p: " ".join(p) or "loom")
def test_every_command_has_help(path: list[str]) -> None:
    result = _loom(*path, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_info_json() -> None:
    result = _loom("info", "--json")
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["native.risc0_zkvm"].startswith("5.") and facts["wasmtime"].startswith("50.")
