"""One real composite proof of the `hello` guest, shared by every test that reads or tampers with it."""

from __future__ import annotations

import pytest

from pipeline import errors, zk
from pipeline.segment_size import SegmentChoice, SegmentPlan

HELLO_INPUT = {"words": [7, 35]}


@pytest.fixture(scope="session")
def hello() -> zk.Guest:
    return zk.load_guest("hello")


@pytest.fixture(scope="session")
def composite(hello: zk.Guest) -> zk.Proof:
    """One real composite proof, shared by the tests that only read or tamper with it.

    Made with RISC0_DEV_MODE=1 in the environment: Loom takes dev mode only from its explicit argument.
    """
    seen: list[tuple[str, int, int]] = []
    plans: list[SegmentPlan] = []
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RISC0_DEV_MODE", "1")
        proof = zk.prove(hello.elf, HELLO_INPUT, progress=lambda *event: seen.append(event), on_plan=plans.append)
    # no size given: hello fits one segment of 2^17 (2^16 would take three, more rows), heard before proving
    assert plans == [SegmentPlan(17, SegmentChoice.cheapest, segments=1, rows=1 << 17)]
    assert proof.execution.segments == 1 and proof.execution.total_cycles == 1 << 17
    assert seen[0] == ("segment", 0, proof.execution.segments)
    assert seen[-1] == ("segment", proof.execution.segments, proof.execution.segments)
    return proof


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
