"""zkTLS on TLSNotary's presentation.bin, side by side in one run: verification natively and in the wasm sandbox,
the tlsn-claim guest executed with RISC Zero's bigint circuits and with portable arithmetic (cycles per phase in
the extra info), and the claim `bazz eq 123` proven as a composite and as a succinct receipt (time, peak RSS,
bytes), both verified.
The two proofs take ~50 min on this 2-core machine; LOOM_BENCH_QUICK skips them.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from _support import peak_rss_mib

from pipeline import tlsn, zk
from pipeline.core import SAMPLE_NOTARY_KEY, SAMPLE_PRESENTATION, artifact

PRESENTATION_FILE = artifact(SAMPLE_PRESENTATION)
PRESENTATION = PRESENTATION_FILE.read_bytes()
LOOM = Path(sys.executable).with_name("loom")
POLICY = tlsn.Policy(notary_keys=(SAMPLE_NOTARY_KEY,))
CLAIM = tlsn.JsonClaim(path="bazz", op="eq", value=123)
GROUP = "zktls presentation.bin"


@pytest.fixture(scope="module")
def guest() -> zk.Guest:
    return zk.load_guest(tlsn.CLAIM_GUEST)


@pytest.mark.benchmark(group=GROUP)
def test_zktls_verify_native(benchmark) -> None:
    benchmark(tlsn.verify_to_dict, PRESENTATION, POLICY, "native")


@pytest.mark.benchmark(group=GROUP)
def test_zktls_verify_wasm(benchmark) -> None:
    tlsn.verify_to_dict(PRESENTATION, POLICY, "wasm")  # warm the module
    benchmark(tlsn.verify_to_dict, PRESENTATION, POLICY, "wasm")


def _execute(benchmark, guest: zk.Guest, accelerate: bool) -> None:
    document = tlsn.claim_request(PRESENTATION, POLICY, CLAIM, profile=True, accelerate=accelerate)
    run = benchmark.pedantic(zk.execute, args=(guest.elf, document), rounds=3, iterations=1)
    journal = tlsn.decode_claim(run.journal)
    assert journal.holds
    benchmark.extra_info.update(
        {
            "accelerated": accelerate,
            "user_cycles": run.user_cycles,
            "total_cycles": run.total_cycles,
            "segments": run.segments,
            "phases": dict(journal.cycles or []),
        }
    )


@pytest.mark.benchmark(group=GROUP)
def test_zktls_execute_accelerated(benchmark, guest: zk.Guest) -> None:
    _execute(benchmark, guest, accelerate=True)


@pytest.mark.benchmark(group=GROUP)
def test_zktls_execute_portable(benchmark, guest: zk.Guest) -> None:
    _execute(benchmark, guest, accelerate=False)


def _prove_in_process(kind: str, out: Path) -> tuple[float, float]:
    """Proves the claim through `loom zk tlsn-claim` in a process of its own, so its peak RSS is the proof's alone.
    Returns (seconds, peak RSS in MiB)."""
    cmd = [
        str(LOOM),
        "zk",
        "tlsn-claim",
        str(PRESENTATION_FILE),
        "--notary-key",
        POLICY.notary_keys[0],
        "--claim",
        "bazz == 123",
        "--kind",
        kind,
        "--out",
        str(out),
        "--json",
    ]
    t0 = time.monotonic()
    peak_mib, _ = peak_rss_mib(cmd)
    return time.monotonic() - t0, peak_mib


@pytest.mark.skipif(bool(os.environ.get("LOOM_BENCH_QUICK")), reason="two real proofs take ~20 min")
@pytest.mark.timeout(7200)  # beyond the suite-wide 900 s
@pytest.mark.benchmark(group=GROUP)
def test_zktls_prove_composite_vs_succinct(benchmark, guest: zk.Guest, tmp_path: Path) -> None:
    """The claim `bazz == 123` proven as a composite receipt and as one succinct receipt, one after the other in
    the same run: proof time, peak RSS and receipt bytes of each; both verify and hold the same journal."""
    composite_s, composite_mib = _prove_in_process("composite", tmp_path / "composite.bin")
    timing: dict[str, float] = {}

    def succinct() -> None:
        timing["s"], timing["mib"] = _prove_in_process("succinct", tmp_path / "succinct.bin")

    benchmark.pedantic(succinct, rounds=1, iterations=1)
    journals, sizes = {}, {}
    for kind in ("composite", "succinct"):
        receipt = zk.Receipt.from_bytes((tmp_path / f"{kind}.bin").read_bytes())
        assert not receipt.is_dev_mode
        journals[kind] = tlsn.decode_claim(zk.verify(receipt, guest.image_id))
        sizes[kind] = (len(receipt.to_bytes()), receipt.seal_size)
    assert journals["composite"] == journals["succinct"]
    assert journals["succinct"].holds and journals["succinct"].server == "tlsnotary.org"
    document = zk.encode_input(tlsn.claim_request(PRESENTATION, POLICY, CLAIM))
    run = zk.execute(guest.elf, document)
    plans = {  # the segment sizes the two proofs chose (each kind has its cheapest)
        kind: zk.cheapest_segments(guest.elf, document, ceiling=zk.segment_po2_ceiling(), succinct=kind == "succinct")
        for kind in ("composite", "succinct")
    }
    benchmark.extra_info.update(
        {
            "total_cycles": run.total_cycles,
            "user_cycles": run.user_cycles,
            "segments": run.segments,
            **{f"{kind}_segments": plan.segments for kind, plan in plans.items()},
            **{f"{kind}_segment_po2": plan.po2 for kind, plan in plans.items()},
            "image_id": guest.image_id,
            "composite_prove_s": composite_s,
            "succinct_prove_s": timing["s"],
            "ratio_succinct_over_composite": timing["s"] / composite_s,
            "composite_peak_rss_mib": composite_mib,
            "succinct_peak_rss_mib": timing["mib"],
            "composite_receipt_bytes": sizes["composite"][0],
            "succinct_receipt_bytes": sizes["succinct"][0],
            "composite_seal_bytes": sizes["composite"][1],
            "succinct_seal_bytes": sizes["succinct"][1],
        }
    )
    print(
        f"\nzkTLS claim: composite ({plans['composite'].describe()}) {composite_s:.0f}s {composite_mib:,.0f} MiB "
        f"{sizes['composite'][0]:,} B | succinct ({plans['succinct'].describe()}) {timing['s']:.0f}s "
        f"{timing['mib']:,.0f} MiB "
        f"{sizes['succinct'][0]:,} B | time ratio {timing['s'] / composite_s:.2f}"
    )
