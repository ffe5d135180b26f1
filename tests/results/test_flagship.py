"""The flagship proves what it states: every value of `examples/notarized-claim.yaml`'s output is a field of the
tlsn-claim receipt's journal, and the bundle `make demo` writes verifies alone. The quick start proves nothing,
and says so."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from pipeline import results as bundle
from pipeline import zk
from pipeline.core import SAMPLE_NOTARY_KEY, pinned_image_ids
from pipeline.flow import Runner, Source, dotted, load_pipeline
from tests.support import REPO

JOURNAL_PATHS = {
    "server": "server",
    "notary_key": "notary.key",
    "session_time": "time",
    "claim": "claim.claim",
    "holds": "holds",
    "value": "picked.0.value",
    "response_sha256": "transcript.received.sha256",
}


@pytest.mark.slow
def test_every_value_the_flagship_states_is_proven_by_its_receipt(flagship_bundle: Path) -> None:
    report = bundle.verify_bundle(flagship_bundle.read_bytes(), require_proven=["."])
    assert report.ok, report.problems
    image_id = pinned_image_ids()["tlsn-claim"]
    assert [(r.guest, r.image_id, r.kind, r.verified) for r in report.receipts] == [
        ("tlsn-claim", image_id, "composite", True)
    ]
    assert {dotted(v.path): (v.source, v.guest, v.journal_path, v.verified) for v in report.values} == {
        name: (Source.proven, "tlsn-claim", path, True) for name, path in JOURNAL_PATHS.items()
    }
    made = bundle.parse_bundle(flagship_bundle.read_bytes())
    assert made.output == {
        "server": "tlsnotary.org",
        "notary_key": SAMPLE_NOTARY_KEY,
        "session_time": 1671637529,
        "claim": {"path": "bazz", "op": "eq", "value": 123},
        "holds": True,
        "value": 123,
        "response_sha256": "b4bb126c979eeeb4d6832d3bb97849b9e998474908e6500b2a2ccbeff25b262f",
    }
    # the receipt is risc0's own: it verifies with the native verifier on its own, for the locked image ID
    raw = base64.b64decode(made.receipts[0].receipt)
    journal = json.loads(zk.verify(raw, image_id))
    assert journal["picked"] == [{"found": True, "path": "bazz", "value": 123}]


def test_the_quick_start_proves_nothing_and_says_so(fixtures: Path) -> None:
    spec = load_pipeline(REPO / "examples" / "notarized-fields.yaml")
    document = {
        "presentation": base64.b64encode((fixtures / "tlsn" / "presentation.bin").read_bytes()).decode(),
        "notary_key": SAMPLE_NOTARY_KEY,
        "server": "tlsnotary.org",
        "paths": ["bazz"],
    }
    result = Runner().run(spec, document)
    assert result.status == "succeeded", result.error
    assert {dotted(p.path): (p.source, p.step) for p in result.provenance} == {
        "fields": (Source.host, "pick"),
        "status": (Source.host, "parse"),
        "server": (Source.host, "verify"),
        "session_time": (Source.host, "verify"),
    }
    assert result.receipts == {}
