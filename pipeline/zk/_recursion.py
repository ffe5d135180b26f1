"""RISC Zero proving in parts, on bytes in risc0's own encoding: what a distributed prover schedules.

A proof of many segments is made as RISC Zero's Bento plans it: execute the guest into segments; prove each
segment; lift each segment receipt into a succinct receipt; join neighbours pairwise, level by level, into one;
resolve the assumptions of a composing guest; wrap the result with the journal. Every part releases the GIL and
takes and gives plain bytes, so any part can run in another process or on another machine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

from pipeline import _native

Receipt = _native.Receipt


class ProvingPhase(StrEnum):
    """What a proof is doing, in the order it does it: proving segments, then for a succinct receipt lifting them,
    joining them pairwise and resolving assumptions."""

    SEGMENT = "segment"
    LIFT = "lift"
    JOIN = "join"
    RESOLVE = "resolve"


Progress = Callable[[ProvingPhase, int, int], None]
"""Called as ``progress(phase, done, total)`` as each step of a phase ends (and with ``done`` 0 as it starts)."""

prove_segment: Callable[[bytes], bytes] = _native.prove_segment
"""A ``Segment`` in, its ``SegmentReceipt`` out."""
lift: Callable[[bytes], bytes] = _native.lift
"""A ``SegmentReceipt`` in, a ``SuccinctReceipt<ReceiptClaim>`` out."""
join: Callable[[bytes, bytes], bytes] = _native.join
"""Two succinct receipts of consecutive parts of one execution (earlier first) in, one out."""
resolve: Callable[[bytes, bytes], bytes] = _native.resolve
"""A conditional succinct receipt and a succinct receipt of its first assumption in, the resolved one out."""
segment_receipts: Callable[[Receipt], list[bytes]] = _native.segment_receipts
"""The segment receipts of a composite receipt."""


def execute_segments(
    elf: bytes,
    input: bytes,
    *,
    segment_limit_po2: int | None = None,
    max_cycles: int | None = None,
    assumptions: Sequence[Receipt] = (),
) -> tuple[_native.ExecutionInfo, list[bytes]]:
    """Runs the guest on its stdin bytes; returns the execution and every segment, in order, for
    ``prove_segment``."""
    return _native.execute_segments(
        elf, input, segment_limit_po2=segment_limit_po2, max_cycles=max_cycles, assumptions=list(assumptions)
    )


def join_tree(
    receipts: Sequence[bytes], *, join: Callable[[bytes, bytes], bytes] = join, progress: Progress | None = None
) -> bytes:
    """Joins succinct receipts of consecutive parts into one, pairwise: depth ceil(log2 n), n - 1 joins. ``join``
    may be any function with the same contract (a remote task, say)."""
    if not receipts:
        raise ValueError("nothing to join")
    level, done, total = list(receipts), 0, len(receipts) - 1
    while len(level) > 1:
        paired = []
        for i in range(0, len(level) - 1, 2):
            paired.append(join(level[i], level[i + 1]))
            done += 1
            if progress:
                progress(ProvingPhase.JOIN, done, total)
        level = paired + level[len(paired) * 2 :]
    return level[0]


def succinct_receipt(succinct: bytes, journal: bytes) -> Receipt:
    """A receipt from the final succinct receipt and the journal the execution committed."""
    return _native.succinct_receipt(succinct, journal)


def resolve_assumptions(conditional: bytes, assumptions: Sequence[Receipt]) -> bytes:
    """Resolves every assumption of a joined, conditional succinct receipt with the receipts the guest verified
    (any order; composite ones are compressed first)."""
    return _native.resolve_assumptions(conditional, list(assumptions))


def composite_receipt(segment_receipts: Sequence[bytes], assumptions: Sequence[Receipt], journal: bytes) -> Receipt:
    """A composite receipt from its segment receipts (in order), the receipts the guest verified (any order) and
    the journal; it is checked before it is returned."""
    return _native.composite_receipt(list(segment_receipts), list(assumptions), journal)


def compress(receipt: Receipt, assumptions: Sequence[Receipt] = (), progress: Progress | None = None) -> Receipt:
    """A composite receipt as one succinct receipt that stands alone: every segment lifted, the lifts joined as a
    tree, then each assumption resolved. The plan a cluster follows too (there, each step is a task)."""
    report = progress or (lambda *_: None)
    parts = segment_receipts(receipt)
    report(ProvingPhase.LIFT, 0, len(parts))
    lifted = []
    for done, part in enumerate(parts, 1):
        lifted.append(lift(part))
        report(ProvingPhase.LIFT, done, len(parts))
    report(ProvingPhase.JOIN, 0, len(parts) - 1)
    final = join_tree(lifted, progress=progress)
    if assumptions:
        report(ProvingPhase.RESOLVE, 0, len(assumptions))
        final = resolve_assumptions(final, assumptions)
        report(ProvingPhase.RESOLVE, len(assumptions), len(assumptions))
    return succinct_receipt(final, receipt.journal)
