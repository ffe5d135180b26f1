"""The segment size a proof uses when none is given: the one that proves the guest in the fewest rows.

A proof's time is close to proportional to its padded rows (every segment is proven at its full 2^po2 size), and
its memory to the size of one segment. Smaller segments waste less padding in the last segment but page more
often, so the cheapest size depends on the guest and its input: the zkTLS claim costs the same 2^20 rows as one
segment of 2^20 or four of 2^18 (the latter in a quarter of the memory), while a small guest fits one segment of
2^17. Executing is a small fraction of proving, so the plan executes the guest at each size, from the largest that
fits the memory down, and stops when the cost rises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pipeline import _native, errors

SEGMENT_MEMORY_MIB = {16: 850, 17: 1_650, 18: 3_250, 19: 6_450, 20: 13_000}
"""Peak RSS of proving one segment of 2^po2 cycles: measured here (sha-chain, one full segment in a process of its
own: 770, 1,497, 2,951, 5,862 and 11,960 MiB), plus a tenth. It doubles per po2."""
SMALLEST_SEGMENT_PO2 = min(SEGMENT_MEMORY_MIB)


def segment_memory(po2: int) -> int:
    """Bytes of memory a proof of one 2^po2 segment needs: measured for 2^16..2^20, doubling beyond."""
    low, high = min(SEGMENT_MEMORY_MIB), max(SEGMENT_MEMORY_MIB)
    mib = SEGMENT_MEMORY_MIB[min(max(po2, low), high)] << max(0, po2 - high)
    return mib * 2**20


def largest_segment_po2(memory: float) -> int | None:
    """The largest measured segment size (up to risc0's default, 2^20) whose proof fits in ``memory`` bytes."""
    return max((p for p in SEGMENT_MEMORY_MIB if segment_memory(p) <= memory), default=None)


def segment_po2_ceiling(memory: float) -> int:
    """The largest segment size a proof in ``memory`` bytes may use; the smallest measured one when none fits, so
    that a plan exists and the size is refused, with the reason, where it would be proven."""
    fits = largest_segment_po2(memory)
    return SMALLEST_SEGMENT_PO2 if fits is None else fits


RECURSION_STEP_ROWS = 1 << 17
"""What one lift or join costs, counted as the rv32im rows that take as long to prove (measured here: ~90-100 s, as
a 2^17 segment): a succinct receipt of n segments adds n lifts and n - 1 joins to the segments."""


class SegmentChoice(StrEnum):
    given = "given"
    """Asked for by the caller (``--segment-po2``, ``segment_limit_po2``, a step's ``prove:``)."""
    cheapest = "cheapest"
    """Chosen by ``cheapest``: the fewest rows to prove, and of equal costs the smallest segments."""


@dataclass(frozen=True)
class SegmentPlan:
    """The segment size a proof will use and why; ``segments`` and ``rows`` are known for a chosen size."""

    po2: int
    choice: SegmentChoice
    segments: int | None = None
    rows: int | None = None

    def describe(self) -> str:
        """One line for progress output."""
        if self.choice is SegmentChoice.given:
            return f"segments of 2^{self.po2} cycles (as asked)"
        return (
            f"{self.segments} segment{'s' if self.segments != 1 else ''} of 2^{self.po2} cycles, {self.rows:,} rows "
            f"(the cheapest size that fits the memory)"
        )


def proving_rows(segments: int, total_cycles: int, *, succinct: bool) -> int:
    """What a proof costs, in rows proven: the padded segments, plus the recursion a succinct receipt adds."""
    return total_cycles + ((2 * segments - 1) * RECURSION_STEP_ROWS if succinct else 0)


def cheapest(
    elf: bytes,
    input: bytes,
    *,
    ceiling: int,
    succinct: bool,
    max_cycles: int | None = None,
    assumptions: Sequence[_native.Receipt] = (),
) -> SegmentPlan:
    """Executes the guest at segment sizes from ``ceiling`` down and returns the cheapest; ties go to the smaller
    size, which needs less memory. A failing execution raises here, before anything is proven."""
    best, best_rows = None, 0
    for po2 in range(max(ceiling, SMALLEST_SEGMENT_PO2), SMALLEST_SEGMENT_PO2 - 1, -1):
        if assumptions:  # a composing guest's env::verify needs its assumptions present
            info, _ = _native.execute_segments(
                elf, input, segment_limit_po2=po2, max_cycles=max_cycles, assumptions=list(assumptions)
            )
        else:
            info = _native.execute(elf, input, segment_limit_po2=po2, max_cycles=max_cycles)
        rows = proving_rows(info.segments, info.total_cycles, succinct=succinct)
        if best is not None and rows > best_rows:
            break
        best, best_rows = SegmentPlan(po2, SegmentChoice.cheapest, segments=info.segments, rows=rows), rows
    assert best is not None  # the range above is never empty
    return best


@dataclass(frozen=True)
class Capacity:
    """Where a proof's segments are proven, as planning sees it: the memory one segment's proof may use, how to
    name it in a refusal, and what to advise when no segment size fits at all."""

    memory: float
    holder: str
    """Completes "but ... GiB": "this machine has", "the largest node of the cluster offers"."""
    otherwise: str
    """The advice when not even the smallest size fits: "prove on a cluster", "add a node with more memory"."""

    @property
    def ceiling(self) -> int:
        return segment_po2_ceiling(self.memory)

    def check(self, po2: int) -> None:
        """Refuses, before anything is proven, a segment size whose proof cannot fit."""
        need = segment_memory(po2)
        if need > self.memory:
            fits = largest_segment_po2(self.memory)
            hint = self.otherwise if fits is None else f"use a segment po2 of {fits} or less"
            raise errors.InvalidInput(
                f"a segment of 2^{po2} cycles needs about {need / 2**30:.1f} GiB to prove, but {self.holder} "
                f"{self.memory / 2**30:.1f} GiB: {hint}"
            )


def plan(
    elf: bytes,
    input: bytes,
    capacity: Capacity,
    *,
    given: int | None,
    succinct: bool,
    max_cycles: int | None = None,
    assumptions: Sequence[_native.Receipt] = (),
    on_plan: Callable[[SegmentPlan], None] | None = None,
) -> SegmentPlan:
    """The size a proof uses, here or on a cluster alike: the one the caller gave (refused first if it cannot fit),
    else the cheapest that fits ``capacity``; ``on_plan`` hears it before anything is proven."""
    if given is not None:
        capacity.check(given)
        chosen = SegmentPlan(given, SegmentChoice.given)
    else:
        chosen = cheapest(
            elf, input, ceiling=capacity.ceiling, succinct=succinct, max_cycles=max_cycles, assumptions=assumptions
        )
        capacity.check(chosen.po2)  # nothing fits: the smallest size, refused with the advice
    if on_plan:
        on_plan(chosen)
    return chosen
