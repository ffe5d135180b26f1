"""Real proofs (composite and succinct) of a small guest, and everything a verifier must refuse."""

from __future__ import annotations

import json

import pytest

from pipeline import _native, errors, zk
from pipeline.zk import SegmentChoice, SegmentPlan
from pipeline.zk._segments import RECURSION_STEP_ROWS, proving_rows
from tests.support import HELLO_INPUT
from tests.support.receipts import flips_accepted, mutations_not_refused_cleanly


@pytest.mark.slow
def test_composite_receipt_verifies(hello: zk.Guest, hello_receipt: zk.Receipt) -> None:
    r = hello_receipt  # made by a pipeline step (the mixed run), as Loom makes most of its receipts
    assert r.kind == "composite" and not r.is_dev_mode
    assert r.seal_size > 10_000  # a real STARK seal, not a placeholder
    assert r.claimed_image_id == hello.image_id
    assert json.loads(zk.verify(r, hello.image_id)) == {"count": 3, "sum": 6}


@pytest.mark.slow
def test_round_trip_through_bytes_and_blob_store(hello: zk.Guest, hello_receipt: zk.Receipt) -> None:
    data = hello_receipt.to_bytes()
    assert zk.Receipt.from_bytes(data).to_bytes() == data
    from pipeline.store import MemoryBlobStore

    blobs = MemoryBlobStore()
    digest = zk.store_receipt(hello_receipt, blobs)
    assert zk.load_receipt(digest, blobs).verify(hello.image_id) == hello_receipt.journal


@pytest.mark.slow
def test_wrong_image_id_is_a_mismatch(hello_receipt: zk.Receipt) -> None:
    other = zk.load_guest("sha-chain").image_id
    with pytest.raises(errors.ImageIdMismatch, match=other):
        hello_receipt.verify(other)


@pytest.mark.slow
def test_every_flipped_byte_is_rejected(hello: zk.Guest, hello_receipt: zk.Receipt) -> None:
    accepted = flips_accepted(hello_receipt.to_bytes(), hello.image_id)
    assert accepted == [], f"tampered receipts verified at byte offsets {accepted[:10]}"


@pytest.mark.slow
def test_overwritten_bytes_are_refused_before_risc0_can_panic(hello: zk.Guest, hello_receipt: zk.Receipt) -> None:
    assert mutations_not_refused_cleanly(hello_receipt.to_bytes(), hello.image_id) == []


# risc0-zkvm 3.0.6's composite verifier parameters (its own CompositeReceiptVerifierParameters::default(), printed
# by `risc0-v3-host params`, benches/risc0-v3): what a composite receipt of the stable line carries.
RISC0_3_0_6_COMPOSITE = "4bce006e0858edf3a3726987c0b1b6258224c000971e451bc9c05cfec086a84b"


@pytest.mark.slow
def test_a_receipt_of_another_risc0_release_is_refused_naming_it(hello: zk.Guest, hello_receipt: zk.Receipt) -> None:
    """The receipt's composite verifier-parameter digest is risc0-zkvm 3.0.6's (bincode keeps a digest's 32 bytes as
    they are): the refusal says which release and circuit made it, and which this Loom verifies. (A real 3.0.6
    succinct receipt is refused the same way: benches/risc0-v3.)"""
    ours = bytes.fromhex(_native.verifier_parameters()["composite"])
    data = hello_receipt.to_bytes()
    assert data.count(ours) == 2  # the composite receipt's and the receipt metadata's
    data = data.replace(ours, bytes.fromhex(RISC0_3_0_6_COMPOSITE))
    with pytest.raises(errors.ReceiptInvalid) as refused:
        zk.Receipt.from_bytes(data).verify(hello.image_id)
    info = _native.build_info()
    assert "risc0-zkvm 3.0.6 (the rv32im v2 circuit)" in str(refused.value)
    assert f"risc0-zkvm {info['risc0_zkvm']} (the {info['risc0_circuit']} circuit)" in str(refused.value)


def test_garbage_is_not_a_receipt() -> None:
    with pytest.raises(errors.ReceiptInvalid, match="not a risc0 receipt"):
        zk.Receipt.from_bytes(b"\x00" * 10)


def test_dev_mode_receipt_is_labelled_and_refused(hello: zk.Guest) -> None:
    fake = zk.prove(hello.elf, HELLO_INPUT, dev_mode=True).receipt
    assert fake.kind == "fake" and fake.is_dev_mode and fake.seal_size == 0
    with pytest.raises(errors.ReceiptInvalid, match="dev-mode"):
        fake.verify(hello.image_id)
    restored = zk.Receipt.from_bytes(fake.to_bytes())
    with pytest.raises(errors.ReceiptInvalid, match="dev-mode"):
        restored.verify(hello.image_id)
    assert json.loads(restored.verify(hello.image_id, allow_dev_mode=True)) == {"count": 2, "sum": 42}


@pytest.mark.slow
def test_dev_mode_environment_variable_does_not_weaken_verification(
    hello: zk.Guest, hello_receipt: zk.Receipt, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISC0_DEV_MODE", "1")
    fake = zk.prove(hello.elf, HELLO_INPUT, dev_mode=True).receipt
    with pytest.raises(errors.ReceiptInvalid, match="dev-mode"):
        fake.verify(hello.image_id)
    assert hello_receipt.kind == "composite"  # proved under RISC0_DEV_MODE=1, still real
    assert hello_receipt.verify(hello.image_id) == hello_receipt.journal


def test_panicking_guest_fails_to_prove(hello: zk.Guest) -> None:
    with pytest.raises(errors.GuestPanicked, match="hello: input must be"):
        zk.prove(hello.elf, b"[]")


def test_unknown_kind_is_rejected(hello: zk.Guest) -> None:
    with pytest.raises(ValueError, match="groth17"):
        zk.prove(hello.elf, HELLO_INPUT, kind="groth17")


def test_segment_sizes_are_capped_by_the_memory() -> None:
    gib = 2**30
    assert zk.segment_po2_ceiling(24 * gib) == 20  # risc0's own default when it fits
    assert zk.segment_po2_ceiling(8 * gib) == 19
    assert zk.segment_po2_ceiling(4 * gib) == 18
    assert zk.segment_po2_ceiling(gib // 2) == 16  # the smallest measured size: refused by prove if it cannot fit


def test_the_cheapest_size_counts_recursion_for_succinct_receipts(hello: zk.Guest) -> None:
    small = zk.encode_input({"words": [7, 35]})
    composite = zk.cheapest_segments(hello.elf, small, ceiling=20, succinct=False)
    assert composite == SegmentPlan(17, SegmentChoice.cheapest, segments=1, rows=1 << 17)
    succinct = zk.cheapest_segments(hello.elf, small, ceiling=20, succinct=True)
    assert succinct == SegmentPlan(17, SegmentChoice.cheapest, segments=1, rows=2 << 17)  # + one lift
    capped = zk.cheapest_segments(hello.elf, small, ceiling=16, succinct=False)
    # never above the ceiling; the last segment is padded to its own power of two: 2^16 + 2^16 + 2^14
    assert (capped.po2, capped.segments, capped.rows) == (16, 3, 147_456)
    assert proving_rows(3, 147_456, succinct=True) == 147_456 + 5 * RECURSION_STEP_ROWS


def test_a_given_size_is_used_as_given_and_a_failing_guest_fails_while_planning(hello: zk.Guest) -> None:
    plans: list[SegmentPlan] = []
    with pytest.raises(errors.GuestPanicked, match="hello: input must be"):
        zk.prove(hello.elf, b"[]", on_plan=plans.append)
    assert plans == []  # nothing was planned, nothing proven
    roomy = zk.Capacity(memory=64 * 2**30, holder="this machine has", otherwise="prove on a cluster")
    given = zk.plan_segments(hello.elf, b"", roomy, given=19, succinct=False)
    assert given == SegmentPlan(19, SegmentChoice.given) and "(as asked)" in given.describe()


def test_a_segment_size_this_machine_cannot_hold_is_refused_before_proving() -> None:
    hello = zk.load_guest("hello")
    with pytest.raises(errors.InvalidInput, match=r"2\^24 cycles needs about 203\.1 GiB to prove, but this machine"):
        zk.prove(hello.elf, {"words": [1]}, segment_limit_po2=24)
    with pytest.raises(errors.InvalidInput, match=r"use a segment po2 of 18 or less"):
        zk.check_fits(20, memory=4 * 2**30)
    with pytest.raises(errors.InvalidInput, match=r"has 0\.5 GiB: prove on a cluster$"):
        zk.check_fits(16, memory=2**29)  # no size fits: no po2 to suggest
