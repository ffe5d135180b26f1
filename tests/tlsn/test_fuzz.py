"""The decoder fuzzer runs for a bounded time on every CI run, seeded with real and minted presentations; and a
fixed set of runs of changed, inserted and deleted bytes is refused by both backends, each quickly, none by a
panic."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import errors, tlsn
from pipeline.tlsn import verify_to_dict
from tests.support import notary

FUZZ_SECONDS = 30
MUTATIONS = {"native": 20_000, "wasm": 2_000}
SLOWEST_S = 1.0  # a refusal costs milliseconds; the golden presentation verifies in about one


def _mutated(data: bytes, rng: random.Random) -> bytes:
    """1 to 8 runs of 1 to 16 bytes, each overwritten at random, filled with one edge value, inserted or deleted."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        at, length, how = rng.randrange(len(out)), rng.randint(1, 16), rng.randrange(4)
        if how == 0:
            out[at : at + length] = rng.randbytes(length)[: len(out) - at]
        elif how == 1:
            out[at : at + length] = bytes([rng.choice([0x00, 0x7F, 0x80, 0xFF])]) * min(length, len(out) - at)
        elif how == 2:
            out[at:at] = rng.randbytes(length)
        else:
            del out[at : at + length]
    return bytes(out)


@pytest.mark.parametrize("backend", list(MUTATIONS))
def test_runs_of_changed_bytes_are_refused_quickly_and_never_by_a_panic(
    golden: bytes, golden_policy: tlsn.Policy, backend: str
) -> None:
    expected = verify_to_dict(golden, golden_policy, backend)
    rng, slowest, accepted = random.Random(36), (0.0, -1), []
    for n in range(MUTATIONS[backend]):
        data = _mutated(golden, rng)
        started = time.perf_counter()
        try:
            answer = verify_to_dict(data, golden_policy, backend)
        except errors.PresentationInvalid as exc:
            assert exc.stage != "internal" and "panic" not in str(exc), f"mutation {n}: {exc}"
        else:
            accepted.append(n)
            assert answer == expected, f"mutation {n} verified, stating other facts"
        slowest = max(slowest, (time.perf_counter() - started, n))
    assert slowest[0] < SLOWEST_S, f"mutation {slowest[1]} took {slowest[0]:.2f}s to refuse"
    assert len(accepted) < MUTATIONS[backend] // 100, accepted


@pytest.mark.timeout(FUZZ_SECONDS + 60)
def test_fuzz_verifier(fixtures: Path, built: Path, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "golden").write_bytes((fixtures / "tlsn" / "presentation.bin").read_bytes())
    partial = notary.Disclosure(open_sent=[[(0, 4)], [(6, 10)]], open_received=[[(0, 12)]], hidden_sent=[[(4, 6)]])
    (seeds / "partial").write_bytes(
        notary.notarize(
            b"GET / HTTP/1.1",
            b"HTTP/1.1 200",
            disclosure=partial,
            hash_alg="sha256",
            server_name="tlsnotary.org",
            handshake=notary.captured_handshake(fixtures, "tlsnotary.org"),
            time=1671637529,
        )
    )
    script = Path(__file__).with_name("fuzz_verifier.py")
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            str(seeds),
            f"-max_total_time={FUZZ_SECONDS}",
            "-rss_limit_mb=2048",
            "-timeout=10",
            "-print_final_stats=1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done" in result.stderr and "stat::number_of_executed_units" in result.stderr, result.stderr[-3000:]
