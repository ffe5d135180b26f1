"""Receipts interoperate with risc0's own Rust verifier and prover (benches/risc0-host, built by `make setup`)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from pipeline import zk
from pipeline.home import cache_dir, risc0_host_binary

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


def rust_made_receipt(host_bin: Path, guest: zk.Guest, document: object) -> bytes:
    """A composite receipt from risc0's own Rust prover: this test's reference input, not what it tests, so it is
    kept under the cache dir, named by everything that makes it (the prover, the guest, the input and the
    arguments); a fresh machine or a changed prover makes it anew. The prover is named by the digest of its sources
    that make recorded beside it (the binary's own bytes differ from clone to clone), else by those bytes."""
    stdin = zk.encode_input(document)
    args = ["composite", "17", "1"]
    sources = Path(f"{host_bin}.sources")
    prover = sources.read_bytes() if sources.is_file() else host_bin.read_bytes()
    key = hashlib.sha256()
    for part in (prover, guest.elf, stdin, " ".join(args).encode()):
        key.update(hashlib.sha256(part).digest())
    kept = cache_dir() / "test-receipts" / f"risc0-rust-{key.hexdigest()}.receipt"
    if not kept.is_file():
        kept.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=kept.parent) as work:
            (Path(work) / "input").write_bytes(stdin)
            out = Path(work) / "receipt"
            subprocess.run(
                [str(host_bin), "prove", str(guest.path), str(Path(work) / "input"), *args, str(out)],
                check=True,
                capture_output=True,
            )
            out.replace(kept)
    return kept.read_bytes()


@pytest.mark.slow
def test_receipt_made_by_risc0_rust_verifies_in_python(host_bin, hello) -> None:
    journal = zk.verify(rust_made_receipt(host_bin, hello, HELLO_INPUT), hello.image_id)
    assert json.loads(journal) == {"count": 2, "sum": 42}
