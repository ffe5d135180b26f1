"""Receipts interoperate with risc0's own Rust verifier and prover (benches/risc0-host, built by `make setup`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pipeline import zk
from pipeline.core import risc0_host_binary
from tests.support import HELLO_INPUT, rust_made_receipt

HOST_BIN = risc0_host_binary()


@pytest.fixture(scope="module")
def host_bin() -> Path:
    if not HOST_BIN.is_file():
        pytest.fail(f"{HOST_BIN} is missing: run `make setup`")
    return HOST_BIN


@pytest.mark.slow
def test_receipt_made_in_python_verifies_with_risc0_rust(host_bin, hello, hello_receipt, tmp_path) -> None:
    path = tmp_path / "python.receipt"
    path.write_bytes(hello_receipt.to_bytes())
    ok = subprocess.run([str(host_bin), "verify", str(path), hello.image_id], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert bytes.fromhex(ok.stdout.strip()) == hello_receipt.journal
    other = zk.load_guest("sha-chain").image_id
    refused = subprocess.run([str(host_bin), "verify", str(path), other], capture_output=True, text=True)
    assert refused.returncode == 1 and "does not verify" in refused.stderr


@pytest.mark.slow
def test_receipt_made_by_risc0_rust_verifies_in_python(host_bin, hello) -> None:
    journal = zk.verify(rust_made_receipt(hello, HELLO_INPUT), hello.image_id)
    assert json.loads(journal) == {"count": 2, "sum": 42}
