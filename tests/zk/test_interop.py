"""Receipts interoperate with risc0's own Rust verifier and prover (benches/risc0-host, built by `make setup`)."""

from __future__ import annotations

import json

import pytest

from pipeline import zk
from tests.support import HELLO_INPUT, rust_made_receipt
from tests.support.receipts import risc0_refuses, risc0_verifies


@pytest.mark.slow
def test_receipt_made_in_python_verifies_with_risc0_rust(hello, hello_receipt, tmp_path) -> None:
    assert risc0_verifies(hello_receipt, hello.image_id, tmp_path) == hello_receipt.journal
    other = zk.load_guest("sha-chain").image_id
    assert "does not verify" in risc0_refuses(hello_receipt, other, tmp_path)


@pytest.mark.slow
def test_receipt_made_by_risc0_rust_verifies_in_python(hello) -> None:
    journal = zk.verify(rust_made_receipt(hello, HELLO_INPUT), hello.image_id)
    assert json.loads(journal) == {"count": 2, "sum": 42}
