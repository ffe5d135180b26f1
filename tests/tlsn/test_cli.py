"""``loom tlsn verify`` as a user runs it: readable summary, JSON, and exit codes that mean something."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import GOLDEN_NOTARY_KEY, loom


def test_summary_json_and_exit_codes(fixtures: Path, built: Path) -> None:
    file = str(fixtures / "tlsn" / "presentation.bin")
    shown = loom("tlsn", "verify", file, "--notary-key", GOLDEN_NOTARY_KEY, "--server", "tlsnotary.org")
    assert shown.returncode == 0, shown.stderr
    assert "tlsnotary.org" in shown.stdout and "2022-12-21 15:45:29 UTC" in shown.stdout
    assert '{"foo": "bar", "bazz": 123, "buzz": [1,"5"]}' in shown.stdout

    as_json = loom("tlsn", "verify", file, "--notary-key", GOLDEN_NOTARY_KEY, "--backend", "wasm", "--json")
    facts = json.loads(as_json.stdout)
    assert facts["http"]["response"]["json"]["bazz"] == 123 and facts["time"] == 1671637529

    untrusted = loom("tlsn", "verify", file, "--notary-key", "02" + "11" * 32)
    assert untrusted.returncode == 1 and "not trusted" in untrusted.stderr
    stale = loom("tlsn", "verify", file, "--notary-key", GOLDEN_NOTARY_KEY, "--max-age", "86400")
    assert stale.returncode == 1 and "s old, more than the 86400 s allowed" in stale.stderr
    bad_key = loom("tlsn", "verify", file, "--notary-key", "not-hex")
    assert bad_key.returncode == 2 and "not hex" in bad_key.stderr
