"""The segment size a proof uses when none is given: the one that proves the guest in the fewest rows.

A proof's time is close to proportional to its padded rows (every segment is proven at its full 2^po2 size), and
its memory to the size of one segment. Smaller segments waste less padding in the last segment but page more
often, so the cheapest size depends on the guest and its input: the zkTLS claim costs the same 2^20 rows as one
segment of 2^20 or four of 2^18 (the latter in a quarter of the memory), while a small guest fits one segment of
2^17. Executing is a small fraction of proving, so the plan executes the guest at each size, from the largest that
fits the memory down, and stops when the cost rises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pipeline import _native
from pipeline.models import SMALLEST_SEGMENT_PO2

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


def plan(
    elf: bytes,
    input: bytes,
    *,
    given: int | None,
    ceiling: int,
    succinct: bool,
    max_cycles: int | None = None,
    assumptions: Sequence[_native.Receipt] = (),
) -> SegmentPlan:
    """The size the caller gave, else the cheapest up to ``ceiling`` (the largest that fits the memory)."""
    if given is not None:
        return SegmentPlan(given, SegmentChoice.given)
    return cheapest(elf, input, ceiling=ceiling, succinct=succinct, max_cycles=max_cycles, assumptions=assumptions)
