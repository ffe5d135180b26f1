"""TLSNotary's own presentation.bin, in both backends: its facts, and nothing but a valid file accepted."""

from __future__ import annotations

import json
import os
import random

import pytest
import wasmtime

from pipeline import errors, tlsn
from tests.support import BACKENDS, GOLDEN_NOTARY_KEY, GOLDEN_TIME, REPO

GOLDEN_REPORT = REPO / "rust-guests" / "tlsn-verifier" / "tests" / "golden" / "presentation.json"

SENT = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
BODY = '{"foo": "bar", "bazz": 123, "buzz": [1,"5"]}'


def test_golden_facts(golden: bytes, golden_policy: tlsn.Policy, backend: str) -> None:
    v = tlsn.verify_presentation(golden, golden_policy, backend)
    assert v.notary.algorithm == "secp256k1" and v.notary.key == GOLDEN_NOTARY_KEY
    assert v.attestation.hash == "blake3"
    assert v.server and v.server.name == "tlsnotary.org" and v.server.signature == "RSA PKCS#1 SHA-256"
    assert v.time == GOLDEN_TIME and v.tls_version == "1.2"
    sent, received = v.transcript.sent, v.transcript.received
    assert (sent.length, received.length) == (35, 145)
    assert sent.authenticated == [(0, 35)] and received.authenticated == [(0, 145)]
    assert sent.redacted == received.redacted == []
    assert sent.text == SENT.decode()
    assert received.text.startswith("HTTP/1.1 200 OK\r\n") and received.text.endswith(BODY + "\r\n")
    assert v.http.request.method == "GET" and v.http.request.headers == [("Host", "localhost")]
    assert v.http.response.status == 200 and v.http.response.body == BODY
    assert v.http.response.body_json == {"foo": "bar", "bazz": 123, "buzz": [1, "5"]}
    assert v.extensions == []


def test_backends_give_identical_json(golden: bytes, golden_policy: tlsn.Policy) -> None:
    native, wasm = (tlsn.verify_to_dict(golden, golden_policy, b) for b in BACKENDS)
    assert native == wasm


def test_the_report_is_the_golden_document_and_the_models_read_all_of_it(
    golden: bytes, golden_policy: tlsn.Policy, backend: str
) -> None:
    """The JSON contract between the Rust verifier and these models, checked on one document from both sides
    (the crate's own test compares its report with the same file): every field read, none unknown."""
    document = json.loads(GOLDEN_REPORT.read_text())
    assert tlsn.verify_to_dict(golden, golden_policy, backend) == document
    model = tlsn.VerifiedPresentation.model_validate(document)  # extra="forbid": no field the models do not know
    assert model.model_dump(mode="json", by_alias=True, exclude_unset=True) == document  # and none they drop


def test_the_wasm_verifier_is_built_for_wide_arithmetic() -> None:
    """Its RSA runs on 64-bit limbs only with wasm's 64x64->128-bit products: Loom's engine must accept them."""
    from pipeline.core import artifact
    from pipeline.sandbox import Engine

    module = artifact("wasm/tlsn_verify.wasm").read_bytes()
    without = wasmtime.Config()
    without.wasm_wide_arithmetic = False
    with pytest.raises(wasmtime.WasmtimeError, match="wide arithmetic"):
        wasmtime.Module.validate(wasmtime.Engine(without), module)
    wasmtime.Module.validate(Engine().engine, module)


def _rejections(data: list[bytes], policy: tlsn.Policy, backend: str) -> list[str]:
    """The error of each input; fails the test on any acceptance or any error that is not a rejection."""
    messages = []
    for i, bad in enumerate(data):
        with pytest.raises(errors.PresentationInvalid) as caught:
            tlsn.verify_to_dict(bad, policy, backend)
        assert not str(caught.value).startswith("internal"), f"input {i}: {caught.value}"
        messages.append(str(caught.value))
    return messages


def _single_byte_changes(golden: bytes, deltas: tuple[int, ...]) -> list[bytes]:
    out = []
    for i in range(len(golden)):
        for x in deltas:
            bad = bytearray(golden)
            bad[i] ^= x
            out.append(bytes(bad))
    return out


@pytest.mark.timeout(600)
def test_every_single_byte_change_is_rejected(golden: bytes, golden_policy: tlsn.Policy) -> None:
    """Three changes of every byte (lowest bit, highest bit, all bits), both backends, same error.
    (cargo test in rust-guests/tlsn-verifier tries all 255 values of every byte natively.)"""
    changed = _single_byte_changes(golden, (0x01, 0x80, 0xFF))
    native = _rejections(changed, golden_policy, "native")
    wasm = _rejections(changed, golden_policy, "wasm")
    assert native == wasm
    stages = {m.split(":")[0] for m in native}
    assert {"decode", "attestation", "signature", "identity", "transcript"} <= stages


def test_truncated_and_random_inputs_are_rejected(golden: bytes, golden_policy: tlsn.Policy, backend: str) -> None:
    rng = random.Random(7)
    step = 1 if backend == "native" else 13
    truncated = [golden[:n] for n in range(0, len(golden), step)]
    noise = [os.urandom(rng.randrange(1, 8000)) for _ in range(50)]
    spliced = [golden[:n] + os.urandom(rng.randrange(1, 64)) for n in rng.sample(range(len(golden)), 50)]
    messages = _rejections(truncated + noise + spliced + [golden + b"\0"], golden_policy, backend)
    assert any("truncated" in m for m in messages)
    assert "unexpected bytes after the presentation" in messages[-1]


def test_hostile_lengths_cost_nothing(golden: bytes, golden_policy: tlsn.Policy, backend: str) -> None:
    """A sequence length of 2^64-1 is refused before anything is allocated (the wasm sandbox would trap first)."""
    bad = golden[:1] + b"\xff" * 8 + golden[9:]
    with pytest.raises(errors.PresentationInvalid, match=r"decode: signature\.data: length 18446744073709551615"):
        tlsn.verify_to_dict(bad, golden_policy, backend)
