"""Succinct receipts, offline: the recursion programs come from crates.io and are checked against risc0's control
IDs; a composing guest's assumption is resolved into one receipt that risc0's Rust verifier accepts. A proof of
several segments made in parts (segment, lift and join tasks) is tested where a distributed prover makes it, on
the cluster (tests/cluster/test_cluster_proving.py), with the same recursion functions."""

from __future__ import annotations

import json

import pytest

from pipeline import _native, errors, zk
from tests.support.receipts import flips_accepted, mutations_not_refused_cleanly, risc0_verifies

EXPECTED_CONTROL_IDS = {  # as risc0-zkvm 5.0.0-rc.1 lists them (poseidon2)
    "identity.zkr": "0d79bc33b4760b4783cbb96fdc87724c7e0c463eb0ba1b2705d39f43c698bd2d",
    "join.zkr": "7a8f24092c34ed3eb81b3d0a0b796c588c615d3488ef9e61c21dbd1e4b83ea6e",
    "resolve.zkr": "53a7b23d07f99e5d5685e85874f5181e8486aa267a0ae607ffe9ba47c8bdda4a",
    "union.zkr": "7771415b778fea1923440e2eb22c4a1e1d7ada2d42cbe03d13402743c0988a31",
}


def test_recursion_programs_match_risc0s_control_ids() -> None:
    assert dict(_native.check_recursion_programs()) == EXPECTED_CONTROL_IDS


@pytest.fixture(scope="module")
def composed(hello: zk.Guest, hello_receipt: zk.Receipt) -> tuple[zk.Proof, list[str]]:
    """The compose guest verifies the session's composite hello receipt inside the zkVM; proved succinct, the
    assumption is compressed (lifted) and resolved, so the receipt stands alone."""
    inner = hello_receipt
    phases: list[str] = []
    proof = zk.prove(
        zk.load_guest("compose").elf,
        {"image_id": hello.image_id, "journal": inner.journal.decode()},
        kind="succinct",
        assumptions=[inner],
        progress=lambda phase, *_: phases.append(phase),
    )
    return proof, phases


@pytest.mark.slow
def test_a_composing_guests_assumption_resolves_into_one_receipt(composed, hello) -> None:
    proof, phases = composed
    compose = zk.load_guest("compose")
    journal = json.loads(zk.verify(proof.receipt, compose.image_id))
    assert journal == {"verified": {"image_id": hello.image_id, "journal": '{"count":3,"sum":6}'}}
    assert proof.receipt.kind == "succinct"
    assert [p for i, p in enumerate(phases) if p not in phases[:i]] == ["segment", "lift", "join", "resolve"]


@pytest.mark.slow
def test_risc0s_rust_verifier_accepts_it(composed, tmp_path) -> None:
    receipt = composed[0].receipt
    assert risc0_verifies(receipt, zk.load_guest("compose").image_id, tmp_path) == receipt.journal


@pytest.mark.slow
def test_flipped_bytes_and_a_wrong_image_are_refused(composed, hello) -> None:
    data = composed[0].receipt.to_bytes()
    assert flips_accepted(data, zk.load_guest("compose").image_id) == []
    with pytest.raises(errors.ImageIdMismatch):
        zk.verify(data, hello.image_id)  # the assumption's image is not the receipt's
    with pytest.raises(errors.ReceiptInvalid, match=r"trailing|bytes"):
        zk.verify(data + b"\0", zk.load_guest("compose").image_id)
    assert mutations_not_refused_cleanly(data, zk.load_guest("compose").image_id) == []


def test_a_composing_guest_without_its_assumption_is_not_proven(hello) -> None:
    with pytest.raises((errors.ProvingFailed, errors.ExecutionFailed, errors.GuestPanicked)):
        zk.prove(
            zk.load_guest("compose").elf,
            {"image_id": hello.image_id, "journal": '{"count":2,"sum":42}'},
            kind="succinct",
        )


def test_parts_refuse_what_is_not_theirs() -> None:
    with pytest.raises(errors.InvalidInput, match="not a risc0 segment"):
        zk.prove_segment(b"\x00" * 64)
    with pytest.raises(errors.InvalidInput, match="not a risc0 succinct receipt"):
        zk.join(b"junk", b"junk")
    with pytest.raises(ValueError, match="nothing to join"):
        zk.join_tree([])


def test_the_join_tree_pairs_neighbours_level_by_level() -> None:
    """The tree's shape, with any function of the join's contract (here one that writes the pairing down)."""
    events: list[tuple[str, int, int]] = []
    parts = [bytes([c]) for c in b"abcde"]
    joined = zk.join_tree(parts, join=lambda a, b: b"(" + a + b + b")", progress=lambda *e: events.append(e))
    assert joined == b"(((ab)(cd))e)"  # depth ceil(log2 5) = 3, the odd one out carried up to the last level
    assert events == [("join", n, 4) for n in range(1, 5)]
    assert zk.join_tree([b"a"], join=lambda a, b: a + b) == b"a"
