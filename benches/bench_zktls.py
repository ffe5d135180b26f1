"""zkTLS on TLSNotary's presentation.bin, side by side in one run: verification natively and in the wasm sandbox,
the tlsn-claim guest executed with RISC Zero's bigint circuits and with portable arithmetic (cycles per phase in
the extra info), and one real composite proof of the claim `bazz eq 123`, verified. The proof takes ~25 min on
this 2-core machine; LOOM_BENCH_QUICK skips it.
"""

from __future__ import annotations

import os

import pytest

from pipeline import tlsn, zk, zktls
from tests.conftest import FIXTURES

PRESENTATION = (FIXTURES / "tlsn" / "presentation.bin").read_bytes()
POLICY = tlsn.Policy(notary_keys=("035be5e9478209674a96e60f1f037f6176540fd001fa1d64694770c56a7709c42c",))
CLAIM = zktls.JsonClaim(path="bazz", op="eq", value=123)
GROUP = "zktls presentation.bin"


@pytest.fixture(scope="module")
def guest() -> zk.Guest:
    return zk.load_guest(zktls.GUEST)


@pytest.mark.benchmark(group=GROUP)
def test_zktls_verify_native(benchmark) -> None:
    benchmark(tlsn.verify_to_dict, PRESENTATION, POLICY, "native")


@pytest.mark.benchmark(group=GROUP)
def test_zktls_verify_wasm(benchmark) -> None:
    tlsn.verify_to_dict(PRESENTATION, POLICY, "wasm")  # warm the module
    benchmark(tlsn.verify_to_dict, PRESENTATION, POLICY, "wasm")


def _execute(benchmark, guest: zk.Guest, accelerate: bool) -> None:
    document = zktls.claim_request(PRESENTATION, POLICY, CLAIM, profile=True, accelerate=accelerate)
    run = benchmark.pedantic(zk.execute, args=(guest.elf, document), rounds=3, iterations=1)
    journal = zktls.decode(run.journal)
    assert journal.holds
    benchmark.extra_info.update({"accelerated": accelerate, "user_cycles": run.user_cycles,
                                 "total_cycles": run.total_cycles, "segments": run.segments,
                                 "phases": dict(journal.cycles or [])})


@pytest.mark.benchmark(group=GROUP)
def test_zktls_execute_accelerated(benchmark, guest: zk.Guest) -> None:
    _execute(benchmark, guest, accelerate=True)


@pytest.mark.benchmark(group=GROUP)
def test_zktls_execute_portable(benchmark, guest: zk.Guest) -> None:
    _execute(benchmark, guest, accelerate=False)


@pytest.mark.skipif(bool(os.environ.get("LOOM_BENCH_QUICK")), reason="a real proof takes ~25 min")
@pytest.mark.timeout(3600)  # beyond the suite-wide 900 s
@pytest.mark.benchmark(group=GROUP)
def test_zktls_prove(benchmark, guest: zk.Guest) -> None:
    receipt = benchmark.pedantic(zk.prove_tlsn_claim, args=(PRESENTATION, POLICY, CLAIM), rounds=1, iterations=1)
    journal = zktls.decode(zk.verify(receipt, guest.image_id))
    assert journal.holds and journal.server == "tlsnotary.org" and not receipt.is_dev_mode
    run = zk.execute(guest.elf, zktls.claim_request(PRESENTATION, POLICY, CLAIM))
    benchmark.extra_info.update({"total_cycles": run.total_cycles, "user_cycles": run.user_cycles,
                                 "segments": run.segments, "seal_bytes": receipt.seal_size,
                                 "image_id": guest.image_id})
