"""Executing guests (no proof): journals, cycle counts, typed errors with the guest's own words."""

from __future__ import annotations

import hashlib
import json

import pytest

from pipeline import errors, zk


def test_hello_journal_and_cycles() -> None:
    run = zk.execute(zk.load_guest("hello").elf, {"words": [1, 2, 3, 2**32 - 1]})
    assert json.loads(run.journal) == {"count": 4, "sum": 5}  # wrapping u32 sum
    assert run.exit_code == "halted(0)"
    assert run.segments >= 1 and run.total_cycles >= run.user_cycles > 0


def test_sha_chain_matches_hashlib() -> None:
    digest = hashlib.sha256(b"loom").digest()
    for _ in range(99):
        digest = hashlib.sha256(digest).digest()
    run = zk.execute(zk.load_guest("sha-chain").elf, {"rounds": 100, "seed": "loom"})
    assert zk.decode_journal(run.journal) == {"rounds": 100, "digest": digest.hex()}


def test_cycles_grow_with_rounds() -> None:
    elf = zk.load_guest("sha-chain").elf
    small = zk.execute(elf, {"rounds": 10, "seed": "x"}).user_cycles
    large = zk.execute(elf, {"rounds": 1010, "seed": "x"}).user_cycles
    assert large - small > 1000 * 50  # each SHA-256 round costs real cycles


@pytest.mark.parametrize(
    ("claim", "found", "holds"),
    [
        ({"path": "bazz", "op": "eq", "value": 123}, True, True),
        ({"path": "bazz", "op": "gt", "value": 200}, True, False),
        ({"path": "buzz.1", "op": "eq", "value": "5"}, True, True),
        ({"path": "missing", "op": "eq", "value": 1}, False, False),
    ],
)
def test_json_claim(claim: dict, found: bool, holds: bool) -> None:
    document = '{"foo": "bar", "bazz": 123, "buzz": [1,"5"]}'
    stdin = {"document": document, "claim": claim}
    run = zk.execute(zk.load_guest("json-claim").elf, stdin)
    assert zk.decode_journal(run.journal) == {
        "claim": claim,
        "found": found,
        "holds": holds,
        "document_sha256": hashlib.sha256(document.encode()).hexdigest(),
        "input_sha256": hashlib.sha256(zk.encode_input(stdin)).hexdigest(),
    }


def test_json_claim_takes_a_document_given_as_a_value() -> None:
    """A proven step's output is a value, not text: its digest is then the input's (input_sha256), not the
    document's."""
    claim = {"path": "wrapped.words.0", "op": "eq", "value": "🦊"}
    stdin = {"document": {"wrapped": {"words": ["🦊"]}}, "claim": claim}
    journal = zk.decode_journal(zk.execute(zk.load_guest("json-claim").elf, stdin).journal)
    assert journal["holds"] is True and journal["document_sha256"] is None
    assert journal["input_sha256"] == hashlib.sha256(zk.encode_input(stdin)).hexdigest()


def test_guest_panic_carries_guest_message() -> None:
    with pytest.raises(errors.GuestPanicked, match=r"hello: input must be \{\"words\""):
        zk.execute(zk.load_guest("hello").elf, b"not json")


def test_json_claim_rejects_non_json_document() -> None:
    with pytest.raises(errors.GuestPanicked, match="document is not valid JSON"):
        zk.execute(zk.load_guest("json-claim").elf, {"document": "{oops", "claim": {"path": "a", "op": "exists"}})


def test_cycle_limit_stops_a_long_guest() -> None:
    with pytest.raises(errors.ExecutionFailed):
        zk.execute(zk.load_guest("sha-chain").elf, {"rounds": 100_000, "seed": "x"}, max_cycles=200_000)


@pytest.mark.parametrize("bad", [b"", b"\x7fELF\x01\x01garbage", b"R0BF" + b"\x00" * 12, b"\x00" * 64])
def test_not_a_guest_is_invalid_input(bad: bytes) -> None:
    with pytest.raises(errors.InvalidInput):
        zk.execute(bad, {})


def test_unknown_guest_name_lists_built_guests() -> None:
    with pytest.raises(errors.InvalidInput, match=r"built guests: .*hello"):
        zk.load_guest("no-such-guest")
