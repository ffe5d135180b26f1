"""Verification of TLSNotary's presentation.bin: the tlsn-verify wasm activity (warm module, Loom's executor)
vs the same Rust crate compiled into pipeline._native, in one run. Both include building and parsing the JSON
request and answer, so the difference is the sandbox (a fresh instance per call) and the wasm32 code."""

from __future__ import annotations

import pytest

from pipeline import tlsn
from pipeline.core import SAMPLE_NOTARY_KEY, SAMPLE_PRESENTATION, artifact

PRESENTATION = artifact(SAMPLE_PRESENTATION).read_bytes()
POLICY = tlsn.Policy(notary_keys=(SAMPLE_NOTARY_KEY,))


@pytest.mark.benchmark(group="tlsn verify presentation.bin")
def test_tlsn_verify_native(benchmark) -> None:
    assert tlsn.verify_to_dict(PRESENTATION, POLICY, "native")["server"]["name"] == "tlsnotary.org"
    benchmark(tlsn.verify_to_dict, PRESENTATION, POLICY, "native")


@pytest.mark.benchmark(group="tlsn verify presentation.bin")
def test_tlsn_verify_wasm(benchmark) -> None:
    expected = tlsn.verify_to_dict(PRESENTATION, POLICY, "native")
    assert tlsn.verify_to_dict(PRESENTATION, POLICY, "wasm") == expected  # also warms the module
    benchmark(tlsn.verify_to_dict, PRESENTATION, POLICY, "wasm")
