"""Tampering with receipts: where to flip bits, and which flips a verifier still accepts (it should be none)."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

from pipeline import errors, zk
from pipeline.core import risc0_host_binary


def _flip_positions(size: int) -> list[int]:
    """Every byte of the framing at both ends (tags, lengths, segment fields, claim, journal, metadata) and 300
    spread through the seal."""
    head, tail = range(0, 64), range(max(64, size - 640), size)
    spread = range(64, max(64, size - 640), max(1, (size - 704) // 300))
    return sorted({*head, *spread, *tail})


def flips_accepted(data: bytes, image_id: str) -> list[int]:
    """The offsets at which a receipt with one flipped bit still verifies (it should be none)."""
    accepted = []
    for pos in _flip_positions(len(data)):
        tampered = bytearray(data)
        tampered[pos] ^= 0x01
        try:
            zk.verify(bytes(tampered), image_id)
        except errors.ReceiptInvalid:
            continue
        accepted.append(pos)
    return accepted


def mutations_not_refused_cleanly(data: bytes, image_id: str, count: int = 300, seed: int = 36) -> list[str]:
    """Receipts with 1 to 8 runs of 1 to 16 random bytes overwritten: what became of those that were not refused by
    a check (accepted, or refused only because risc0's verifier panicked and the panic was caught). Should be none:
    most such bytes are no field element, which risc0 panics on and Loom checks first."""
    rng, found = random.Random(seed), []
    for n in range(count):
        tampered = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            at, length = rng.randrange(len(data)), rng.randint(1, 16)
            tampered[at : at + length] = rng.randbytes(length)[: len(data) - at]
        try:
            zk.verify(bytes(tampered), image_id)
        except errors.ReceiptInvalid as exc:
            if "malformed seal" in str(exc):
                found.append(f"mutation {n}: {exc}")
            continue
        found.append(f"mutation {n}: accepted")
    return found


def risc0_verifies(receipt: zk.Receipt, image_id: str, work: Path) -> bytes:
    """Asserts that risc0's own Rust verifier (benches/risc0-host) accepts the receipt; returns the journal it
    printed."""
    ok = _risc0_verify(receipt, image_id, work)
    assert ok.returncode == 0, ok.stderr
    return bytes.fromhex(ok.stdout.strip())


def risc0_refuses(receipt: zk.Receipt, image_id: str, work: Path) -> str:
    """Asserts that risc0's own Rust verifier refuses the receipt for this image ID; returns what it said."""
    refused = _risc0_verify(receipt, image_id, work)
    assert refused.returncode == 1, (refused.returncode, refused.stderr)
    return refused.stderr


def _risc0_verify(receipt: zk.Receipt, image_id: str, work: Path) -> subprocess.CompletedProcess[str]:
    host_bin = risc0_host_binary()
    assert host_bin.is_file(), f"{host_bin} is missing: run `make setup`"
    path = work / "risc0-verify.receipt"
    path.write_bytes(receipt.to_bytes())
    return subprocess.run([str(host_bin), "verify", str(path), image_id], capture_output=True, text=True)
