"""The decoder fuzzer runs for a bounded time on every CI run, seeded with real and minted presentations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import notary

FUZZ_SECONDS = 30


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
