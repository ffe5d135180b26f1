"""Succinct receipts for any number of segments, offline: the recursion programs come from crates.io and are
checked against risc0's control IDs; a proof made in parts (segments, lifts, a join tree) is one constant-size
receipt that risc0's Rust verifier accepts; a composing guest's assumption is resolved into one receipt."""

from __future__ import annotations

import json
import subprocess

import pytest

from pipeline import errors, recursion, zk
from pipeline.home import risc0_host_binary

from .conftest import HELLO_INPUT, flips_accepted

PO2 = 16  # small segments: each proves in well under a minute here
EXPECTED_CONTROL_IDS = {  # as risc0-zkvm 5.0.0-rc.1 lists them (poseidon2)
    "identity.zkr": "0d79bc33b4760b4783cbb96fdc87724c7e0c463eb0ba1b2705d39f43c698bd2d",
    "join.zkr": "7a8f24092c34ed3eb81b3d0a0b796c588c615d3488ef9e61c21dbd1e4b83ea6e",
    "resolve.zkr": "53a7b23d07f99e5d5685e85874f5181e8486aa267a0ae607ffe9ba47c8bdda4a",
    "union.zkr": "7771415b778fea1923440e2eb22c4a1e1d7ada2d42cbe03d13402743c0988a31",
}


def test_recursion_programs_match_risc0s_control_ids() -> None:
    assert dict(zk._native.check_recursion_programs()) == EXPECTED_CONTROL_IDS


@pytest.fixture(scope="module")
def in_parts() -> tuple[zk.Guest, dict, zk.Receipt, list[tuple[str, int, int]]]:
    """A real succinct receipt of a three-segment execution, made in parts as a distributed prover would (hello's
    smallest input executes into three segments of 2^16 cycles)."""
    guest, doc = zk.load_guest("hello"), HELLO_INPUT
    execution, segments = recursion.execute_segments(guest.elf, zk.encode_input(doc), segment_limit_po2=PO2)
    assert execution.segments == len(segments) == 3
    phases: list[tuple[str, int, int]] = []
    lifted = [recursion.lift(recursion.prove_segment(s)) for s in segments]
    final = recursion.join_tree(lifted, progress=lambda *event: phases.append(event))
    return guest, doc, recursion.succinct_receipt(final, execution.journal), phases


@pytest.mark.slow
def test_a_three_segment_proof_is_one_succinct_receipt(in_parts) -> None:
    guest, _doc, receipt, phases = in_parts
    assert receipt.kind == "succinct"
    assert json.loads(zk.verify(receipt.to_bytes(), guest.image_id)) == {"count": 2, "sum": 42}
    assert phases[-1][1:] == (2, 2)  # three segments: two joins, depth two


@pytest.mark.slow
def test_risc0s_rust_verifier_accepts_it(in_parts, tmp_path) -> None:
    guest, _, receipt, _ = in_parts
    path = tmp_path / "succinct.receipt"
    path.write_bytes(receipt.to_bytes())
    ok = subprocess.run([str(risc0_host_binary()), "verify", str(path), guest.image_id], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert bytes.fromhex(ok.stdout.strip()) == receipt.journal


@pytest.mark.slow
def test_flipped_bytes_and_a_wrong_image_are_refused(in_parts) -> None:
    guest, _, receipt, _ = in_parts
    data = receipt.to_bytes()
    assert flips_accepted(data, guest.image_id) == []
    with pytest.raises(errors.ImageIdMismatch):
        zk.verify(data, zk.load_guest("sha-chain").image_id)
    with pytest.raises(errors.ReceiptInvalid, match=r"trailing|bytes"):
        zk.verify(data + b"\0", guest.image_id)


@pytest.fixture(scope="module")
def composed(hello: zk.Guest, in_parts) -> tuple[zk.Proof, list[str]]:
    """The compose guest verifies the succinct hello receipt above inside the zkVM; proved succinct, the assumption
    is resolved (a succinct assumption, so it needs no lift of its own)."""
    inner = in_parts[2]
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
    assert journal == {"verified": {"image_id": hello.image_id, "journal": '{"count":2,"sum":42}'}}
    assert proof.receipt.kind == "succinct"
    assert [p for i, p in enumerate(phases) if p not in phases[:i]] == ["segment", "lift", "join", "resolve"]


@pytest.mark.slow
def test_succinct_size_does_not_grow_with_segments(in_parts, composed) -> None:
    assert in_parts[2].seal_size == composed[0].receipt.seal_size


def test_a_composing_guest_without_its_assumption_is_not_proven(hello) -> None:
    with pytest.raises((errors.ProvingFailed, errors.ExecutionFailed, errors.GuestPanicked)):
        zk.prove(
            zk.load_guest("compose").elf,
            {"image_id": hello.image_id, "journal": '{"count":2,"sum":42}'},
            kind="succinct",
        )


def test_parts_refuse_what_is_not_theirs() -> None:
    with pytest.raises(errors.InvalidInput, match="not a risc0 segment"):
        recursion.prove_segment(b"\x00" * 64)
    with pytest.raises(errors.InvalidInput, match="not a risc0 succinct receipt"):
        recursion.join(b"junk", b"junk")
    with pytest.raises(ValueError, match="nothing to join"):
        recursion.join_tree([])
