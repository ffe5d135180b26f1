"""Receipts interoperate with risc0's own Rust verifier and prover (benches/risc0-host, built by `make setup`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pipeline import zk
from pipeline.home import risc0_host_binary

from .conftest import HELLO_INPUT

HOST_BIN = risc0_host_binary()


@pytest.fixture(scope="module")
def host_bin() -> Path:
    assert HOST_BIN.is_file(), f"{HOST_BIN} is missing: run `make setup`"
    return HOST_BIN


def test_receipt_made_in_python_verifies_with_risc0_rust(host_bin, hello, composite, tmp_path) -> None:
    path = tmp_path / "python.receipt"
    path.write_bytes(composite.receipt.to_bytes())
    ok = subprocess.run([str(host_bin), "verify", str(path), hello.image_id], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert bytes.fromhex(ok.stdout.strip()) == composite.receipt.journal
    other = zk.load_guest("sha-chain").image_id
    refused = subprocess.run([str(host_bin), "verify", str(path), other], capture_output=True, text=True)
    assert refused.returncode == 1 and "does not verify" in refused.stderr


@pytest.mark.slow
def test_receipt_made_by_risc0_rust_verifies_in_python(host_bin, hello, tmp_path) -> None:
    (tmp_path / "input.json").write_bytes(zk.encode_input(HELLO_INPUT))
    out = tmp_path / "rust.receipt"
    subprocess.run(
        [str(host_bin), "prove", str(hello.path), str(tmp_path / "input.json"), "composite", "17", "1", str(out)],
        check=True,
        capture_output=True,
    )
    journal = zk.verify(out.read_bytes(), hello.image_id)
    assert json.loads(journal) == {"count": 2, "sum": 42}
