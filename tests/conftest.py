"""Shared fixtures: every test gets its own LOOM_HOME; real fixtures come from ../shared, built guests from the data
dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.artifacts import data_dir

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"


@pytest.fixture(autouse=True)
def loom_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data dir per test, so no test sees another's registry, journal, blobs or module cache."""
    home = tmp_path_factory.mktemp("loom-home")
    monkeypatch.setenv("LOOM_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """Real upstream data (TLSNotary presentation, handshakes, PKI, HTTP messages) from ../shared/fixtures."""
    if not FIXTURES.is_dir():
        pytest.fail(f"shared fixtures not found at {FIXTURES}: clone Loom next to shared/")
    return FIXTURES


@pytest.fixture(scope="session")
def built() -> Path:
    """Loom's shipped files (`make` builds and links them): wasm/ (Rust activities), zkvm/ (RISC Zero ELFs),
    activities/ (AssemblyScript), wasi/ (WASI commands)."""
    path = data_dir()
    if not (path / "zkvm").is_dir():
        pytest.fail(f"{path} is missing: run `make setup` first")
    return path
